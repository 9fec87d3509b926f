"""Web load benchmark: 16 concurrent clients against `cacwatch serve`, latency percentiles and memory.

    python benchmarks/web_load.py [--stores replica,8000,100000] [--postgres] [--requests 150] [--cache-mb 8,0]
                                  [--write docs/benchmarks.md [--notes notes.md]] [--from-json results.json]
    python benchmarks/web_load.py --abuse [--stores 100000 | --url LABEL=DATABASE_URL …] [--requests 100] [--write docs/benchmarks.md]

Stores:
- ``replica``: the bundled replica ingested with `cacwatch check --once` (805 real filings);
- a number N: a synthetic store of N filings written through the ingest path
  (``Repository.ingest`` of generated lists of 2,000 rows, built from the replica's real rows:
  real names, purposes, products and filers, plus made-up filers so that about a third of the
  filers are distinct per filing). SQLite, and PostgreSQL with ``--postgres``.

Each store is served by `cacwatch serve` in its own process (first request after the search
index is built, which is timed separately). Every client runs a fixed mix of requests in a
loop: search (Chinese substrings, English group names, numbers written with spaces and
full-width digits), filters (kind, province, status, list month), one filing, the list feed,
the saved-search feed, and the search page. Reported: p50/p95/p99 per kind of request and
overall, throughput, and the serve process's RSS (peak, from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from report import python_speed, replace_section, speed_note  # noqa: E402

CLIENTS = 16
POSTGRES_URL = os.environ.get("CACWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_HAN = "安百宝北博畅辰诚达鼎东方飞丰锋福海翰航浩和恒弘鸿华辉汇佳嘉健金锦京景聚凯康科蓝朗乐力立联灵隆龙迈茂美明铭诺鹏品启千强擎荣锐瑞森尚晟盛世舒思泰腾天通同拓万维伟文星兴旭轩雅扬易益逸银永优宇远云泽展兆哲振正之智中众卓"
_CITIES = ["北京", "上海", "深圳", "杭州", "广州", "成都", "武汉", "南京", "苏州", "西安", "厦门", "天津"]
_TRADES = ["科技", "网络科技", "信息技术", "智能科技", "数字科技", "软件", "文化传媒"]


def _replica_records() -> list[dict[str, Any]]:
    """The replica's real records (tests/data/expected.jsonl), the templates of synthetic rows."""
    lines = (ROOT / "tests" / "data" / "expected.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def build_synthetic(db_url: str, filings: int, seed: int = 11) -> None:
    """``filings`` filings in lists of 2,000 rows, through the ingest path."""
    from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
    from storage.db import Database
    from storage.repo import Repository

    rng = random.Random(seed)
    templates = _replica_records()
    db = Database(db_url)
    db.migrate()
    per_list = 2000
    kinds = [Kind.DEEP_SYNTHESIS, Kind.ALGORITHM_RECOMMENDATION, Kind.GENAI_SERVICE]
    made_up = [
        f"{rng.choice(_CITIES)}{''.join(rng.choice(_HAN) for _ in range(rng.randint(2, 3)))}{rng.choice(_TRADES)}有限公司"
        for _ in range(filings // 3)
    ]
    serial = 0
    for list_index in range((filings + per_list - 1) // per_list):
        kind = kinds[list_index % 3]
        year, month = 2022 + list_index // 36, 1 + (list_index // 3) % 12
        list_month = f"{year}-{month:02d}"
        rows = []
        for row_index in range(min(per_list, filings - serial)):
            template = rng.choice(templates)
            serial += 1
            region = (template["filing_number"][4:10] if template["filing_number"].startswith("网信算备") else "110108")
            number = f"网信算备{region}{serial:09d}{list_index % 10}号"
            entity = template["entity"] if rng.random() < 0.5 else rng.choice(made_up)
            rows.append(
                FilingRow(
                    kind=kind,
                    filing_number=number,
                    name=template["name"] + ("" if rng.random() < 0.5 else f"-{serial % 97}"),
                    entity=entity,
                    role=template["role"] if kind is Kind.DEEP_SYNTHESIS else None,
                    category=template["category"] if kind is Kind.ALGORITHM_RECOMMENDATION else None,
                    products=tuple(template["products"]),
                    purpose=template["purpose"],
                    province=template["province"],
                    remark="已注销" if rng.random() < 0.02 else "",
                    status=Status.CANCELLED if rng.random() < 0.02 else Status.ACTIVE,
                    filed_on=f"{list_month}-15" if kind is Kind.GENAI_SERVICE else None,
                    row_index=row_index,
                )
            )
        name = {Kind.DEEP_SYNTHESIS: "境内深度合成服务算法备案清单", Kind.ALGORITHM_RECOMMENDATION: "境内互联网信息服务算法备案清单", Kind.GENAI_SERVICE: "生成式人工智能服务已备案信息"}[kind]
        ref = ListRef(kind, list_month, f"{name}（{year}年{month}月）", name, f"https://www.cac.gov.cn/bench/{list_index}.htm", f"https://www.cac.gov.cn/bench/{list_index}.docx")
        digest = hashlib.sha256(f"{seed}-{list_index}".encode()).hexdigest()
        with db.session() as session:
            Repository(session).ingest(ParsedList(ref, digest, "docx", tuple(rows)), f"bench-{list_index}")
    db.dispose()


def build_replica(db_url: str, tmp: Path) -> None:
    from bot.settings.config import settings_from_mapping
    from scrapers.replica.server import ReplicaServer
    from web_helpers import ingest, write_config

    with ReplicaServer() as replica:
        settings = settings_from_mapping(
            {"database": {"url": db_url}, "data_dir": str(tmp / "data"), "sources": {"cac": {"base_url": replica.base_url, "beian_url": replica.beian_url, "min_delay": 0}}},
            env={},
        )
        ingest(write_config(tmp / "ingest.yaml", settings))


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of one process, from /proc/PID/status."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def search_terms(sample: list[dict[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    """The search mix's terms from sampled records: Chinese substrings, English group and filer
    names, filing numbers written with spaces and full-width digits (and their first digits)."""
    from bot.web.search_text import describe_filer

    chinese = [r["name"][:2] for r in sample[:20]] + [r["entity"][2:6] for r in sample[:20]] + ["推荐", "抖音", "大模型", "腾讯"]
    english = ["ByteDance", "Tencent", "alibaba", "Baidu", "meituan"] + [
        describe_filer(r["entity"]).english.split(" ")[1] for r in sample[:10] if " " in describe_filer(r["entity"]).english
    ]
    numbers = []
    for record in sample[:20]:
        digits = record["filing_number"].removeprefix("网信算备").removesuffix("号")
        numbers.append("网信算备 " + " ".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in digits))
        numbers.append(digits[:8])
    return chinese, english, numbers


def _workload(records: list[dict[str, Any]], rng: random.Random, insights: bool = False) -> list[tuple[str, str]]:
    """A shuffled mix of (class, path) for one client; ``insights`` adds the insights, group and
    filer pages and /api/v1/stats (class "insights") to it."""
    sample = rng.sample(records, min(200, len(records)))
    chinese, english, numbers = search_terms(sample)
    provinces = sorted({r["province"] for r in records if r["province"]})[:10]
    months = sorted({r["list_month"] for r in records})
    kinds = ["deep_synthesis", "algorithm_recommendation", "genai_service"]
    mix: list[tuple[str, str]] = []
    for _ in range(6):
        mix.append(("search", f"/api/v1/filings?q={quote(rng.choice(chinese + english))}"))
        mix.append(("search", f"/api/v1/filings?q={quote(rng.choice(numbers))}"))
        mix.append(("filter", f"/api/v1/filings?kind={rng.choice(kinds)}&province={quote(rng.choice(provinces))}&status=active"))
        mix.append(("filter", f"/api/v1/filings?list_month={rng.choice(months)}&limit=100"))
        record = rng.choice(sample)
        mix.append(("filing", f"/api/v1/filings/{record['kind']}/{quote(record['filing_number'])}"))
        mix.append(("page", f"/filings/{record['kind']}/{quote(record['filing_number'])}"))
    mix.append(("feed", f"/feeds/lists.atom?kind={rng.choice(kinds)}"))
    mix.append(("feed", f"/feeds/filings.atom?q={quote(rng.choice(english))}"))
    mix.append(("page", f"/search?q={quote(rng.choice(chinese))}"))
    if insights:
        groups = ["bytedance", "tencent", "alibaba", "baidu", "meituan", "kuaishou", "apple", "microsoft"]
        for _ in range(2):
            kind = rng.choice(kinds)
            mix.append(("insights", "/api/v1/stats"))
            mix.append(("insights", f"/api/v1/stats?kind={kind}"))
            mix.append(("insights", f"/insights?kind={kind}&list_month={rng.choice(months)}"))
            mix.append(("insights", "/insights"))
            mix.append(("insights", f"/groups/{rng.choice(groups)}"))
            mix.append(("insights", f"/entities/{quote(rng.choice(sample)['entity'])}"))
    rng.shuffle(mix)
    return mix


async def _client_httpx(base: str, mix: list[tuple[str, str]], requests: int, timings: dict[str, list[float]], errors: list[str]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for index in range(requests):
            kind, path = mix[index % len(mix)]
            started = time.perf_counter()
            response = await client.get(path)
            timings[kind].append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {path}")


async def _client_raw(base: str, mix: list[tuple[str, str]], requests: int, timings: dict[str, list[float]], errors: list[str]) -> None:
    """One keep-alive HTTP/1.1 connection, requests written and answers read by hand.

    A load generator should not compete with the server it measures: httpx spends ~1 ms of CPU
    per request on its own (the clients share the server's two cores), this a fraction of that.
    Timed the same way: from writing the request to having read the whole body.
    """
    host, _, port = base.removeprefix("http://").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for index in range(requests):
            kind, path = mix[index % len(mix)]
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n".encode("ascii"))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            timings[kind].append(time.perf_counter() - started)
            if status != 200:
                errors.append(f"{status} {path}")
    finally:
        writer.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (/proc/PID/stat, clock ticks)."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def _largest_pages(records: list[dict[str, Any]]) -> dict[str, str]:
    """The page of the group with most filings (of the mix's groups) and of the filer with most."""
    from collections import Counter

    from bot.changes.companies import big_tech_group

    mix_groups = {"bytedance", "tencent", "alibaba", "baidu", "meituan", "kuaishou", "apple", "microsoft"}
    groups = Counter(g.key for g in (big_tech_group(r["entity"]) for r in records) if g is not None and g.key in mix_groups)
    filers = Counter(r["entity"] for r in records)
    pages = {}
    if groups:
        pages["largest group"] = f"/groups/{groups.most_common(1)[0][0]}"
    if filers:
        pages["largest filer"] = f"/entities/{quote(filers.most_common(1)[0][0])}"
    return pages


def run_load(
    db_url: str, label: str, requests: int, tmp: Path, client: str = "raw", cache_mb: int = 8, insights: bool = False
) -> dict[str, Any]:
    import httpx
    from bot.settings.config import settings_from_mapping
    from web_helpers import export_records, serve_process, write_config

    config = write_config(tmp / f"serve-{label}.yaml", settings_from_mapping({"database": {"url": db_url}, "web": {"cache_mb": cache_mb}}, env={}))
    records = export_records(config)
    started = time.perf_counter()
    with serve_process(config, startup=600) as (base, process):
        httpx.get(base + "/api/v1/filings?q=warmup", timeout=600)  # the index backfill happens before this answers
        index_seconds = time.perf_counter() - started
        cold: dict[str, float] = {}
        if insights:  # the first answers after start: every aggregate computed once
            for path in ("/api/v1/stats", "/insights", "/groups/bytedance"):
                began_cold = time.perf_counter()
                httpx.get(base + path, timeout=600).raise_for_status()
                cold[path] = (time.perf_counter() - began_cold) * 1000
            # The heaviest pages of the mix, alone: the largest group's and the largest filer's.
            for page, path in _largest_pages(records).items():
                began_cold = time.perf_counter()
                httpx.get(base + path, timeout=600).raise_for_status()
                cold[page] = (time.perf_counter() - began_cold) * 1000
        pid = process.pid
        rng = random.Random(5)
        timings: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        mixes = [_workload(records, random.Random(rng.random()), insights) for _ in range(CLIENTS)]
        began = time.perf_counter()

        run_client = _client_raw if client == "raw" else _client_httpx

        async def main() -> None:
            await asyncio.gather(*(run_client(base, mix, requests, timings, errors) for mix in mixes))

        load_before = os.getloadavg()[0]
        server_cpu, client_cpu = _cpu_seconds(pid), time.process_time()
        asyncio.run(main())
        wall = time.perf_counter() - began
        server_cpu, client_cpu = _cpu_seconds(pid) - server_cpu, time.process_time() - client_cpu
        load_after = os.getloadavg()[0]
        rss, peak = _rss_mb(pid)
    everything = [t for values in timings.values() for t in values]
    return {
        "label": label,
        "cache_mb": cache_mb,
        "filings": len(records),
        "requests": len(everything),
        "errors": errors[:5],
        "error_count": len(errors),
        "startup_index_s": index_seconds,
        "throughput": len(everything) / wall,
        "p50": _percentile(everything, 50),
        "p95": _percentile(everything, 95),
        "p99": _percentile(everything, 99),
        "by_kind": {k: {"n": len(v), "p50": _percentile(v, 50), "p95": _percentile(v, 95), "mean": statistics.mean(v) * 1000} for k, v in sorted(timings.items())},
        "load": (load_before, load_after),
        "client": client,
        "server_cpu_ms": server_cpu * 1000 / max(1, sum(len(v) for v in timings.values())),
        "client_cpu_ms": client_cpu * 1000 / max(1, sum(len(v) for v in timings.values())),
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "mix": "insights" if insights else "default",
        "cold_ms": cold,
    }


# Issue 19: what an abusive client costs. Rare terms and single characters (uncached: each
# is asked with the answer cache off), then API load while full downloads run.
RARE_QUERIES = [
    ("entities 1 char", "/api/v1/entities?limit=500&q=%E6%9C%89"),  # 有: in nearly every filer
    ("entities rare", "/api/v1/entities?limit=500&q=xyzzy"),
    ("search 1 char rare", "/api/v1/filings?q=%E2%98%84"),  # ☄: in nothing
    ("search 1 char common", "/api/v1/filings?q=%E6%9C%89"),
    ("search rare", "/api/v1/filings?q=xyzzy"),
    ("page 1 char rare", "/search?q=%E2%98%84"),
    ("page 1 char common", "/search?q=%E7%AE%97"),  # 算
]
DOWNLOADERS = 8
API_CLIENTS = 4


async def _downloader(base: str, stop: asyncio.Event, stats: dict[str, list[float]]) -> None:
    """Full CSV downloads in a loop; a 503 is counted and retried after a second (not the
    Retry-After it names: an abusive client does not wait)."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        while not stop.is_set():
            started = time.perf_counter()
            size = 0
            async with client.stream("GET", "/search.csv") as response:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
            if response.status_code == 200:
                stats["done_s"].append(time.perf_counter() - started)
                stats["bytes"].append(float(size))
            else:
                stats["refused"].append(float(response.status_code))
                await asyncio.sleep(1)


def run_abuse(db_url: str, label: str, tmp: Path, requests: int) -> dict[str, Any]:
    import httpx
    from bot.settings.config import settings_from_mapping
    from web_helpers import export_records, serve_process, write_config

    def served(cache_mb: int) -> Any:
        config = write_config(tmp / f"abuse-{label}-{cache_mb}.yaml", settings_from_mapping({"database": {"url": db_url}, "web": {"cache_mb": cache_mb}}, env={}))
        return config, serve_process(config, startup=900)

    result: dict[str, Any] = {"label": label, "rare": {}}
    config, serving = served(0)
    records = export_records(config)
    result["filings"] = len(records)
    with serving as (base, process):
        with httpx.Client(base_url=base, timeout=600) as client:
            client.get("/api/v1/filings?q=warmup")
            for name, path in RARE_QUERIES:
                client.get(path)  # first: the connection, any lazy import
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    assert client.get(path).status_code == 200, path
                    times.append((time.perf_counter() - started) * 1000)
                result["rare"][name] = {"median": statistics.median(times), "max": max(times)}
    config, serving = served(8)
    with serving as (base, process):
        httpx.get(base + "/api/v1/filings?q=warmup", timeout=600)
        pid = process.pid
        rng = random.Random(7)

        async def phase(with_downloads: bool) -> tuple[dict[str, list[float]], dict[str, list[float]], list[str]]:
            # Mixes of its own per phase: neither finds the other's answers kept.
            mixes = [_workload(records, random.Random(rng.random())) for _ in range(API_CLIENTS)]
            timings: dict[str, list[float]] = defaultdict(list)
            downloads: dict[str, list[float]] = defaultdict(list)
            errors: list[str] = []
            stop = asyncio.Event()
            loaders = [asyncio.create_task(_downloader(base, stop, downloads)) for _ in range(DOWNLOADERS if with_downloads else 0)]
            if loaders:
                await asyncio.sleep(2)  # the downloads under way first
            await asyncio.gather(*(_client_raw(base, mix, requests, timings, errors) for mix in mixes))
            stop.set()
            await asyncio.gather(*loaders)
            return timings, downloads, errors

        for name, with_downloads in (("downloads", True), ("quiet", False)):
            load_before = os.getloadavg()[0]
            timings, downloads, errors = asyncio.run(phase(with_downloads))
            everything = [t for values in timings.values() for t in values]
            result[name] = {
                "requests": len(everything), "errors": len(errors),
                "p50": _percentile(everything, 50), "p95": _percentile(everything, 95), "p99": _percentile(everything, 99),
                "downloads": len(downloads["done_s"]), "refused": len(downloads["refused"]),
                "download_s": statistics.median(downloads["done_s"]) if downloads["done_s"] else 0.0,
                "download_mb": (statistics.median(downloads["bytes"]) / 1e6) if downloads["bytes"] else 0.0,
                "load": (load_before, os.getloadavg()[0]),
            }
        result["peak_rss_mb"] = _rss_mb(pid)[1]
    return result


def write_abuse_markdown(path: Path, results: list[dict[str, Any]], requests: int) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    names = [name for name, _ in RARE_QUERIES]
    rare = "\n".join(
        f"| {r['label']} | {r['filings']:,} | " + " | ".join(f"{r['rare'][n]['median']:.0f} / {r['rare'][n]['max']:.0f}" for n in names) + " |"
        for r in results
    )
    load = "\n".join(
        f"| {r['label']} | {phase} | {r[phase]['requests']} | {r[phase]['errors']} | {r[phase]['p50']:.0f} ms | **{r[phase]['p95']:.0f} ms** | "
        f"{r[phase]['p99']:.0f} ms | {r[phase]['downloads']} | {r[phase]['refused']} | {r[phase]['download_s']:.1f} s | {r[phase]['download_mb']:.1f} MB | "
        + "{:.1f} → {:.1f}".format(*r[phase]["load"]) + f" | {r['peak_rss_mb']:.0f} MB |"
        for r in results for phase in ("downloads", "quiet")
    )
    section = f"""## Read side under abuse (benchmarks/web_load.py --abuse)

Measured {date.today().isoformat()} on {machine} (issue 19). `cacwatch serve` over a synthetic store
(written through the ingest path, as above), defaults except where said.

Rare terms and single characters, each asked 5 times with the answer cache off (`web.cache_mb: 0`:
computed every time), median / max in ms (target ≤ 300 ms on 100k):

| store | filings | {" | ".join(names)} |
|---|---|{"---|" * len(names)}
{rare}

API load ({API_CLIENTS} raw clients, {requests} requests each, the mix above, default cache; each phase with
mixes of its own, so neither finds the other's answers kept) while {DOWNLOADERS} clients download the whole
store as CSV in a loop ("downloads"; a refused one, 503 with Retry-After beyond `web.max_downloads` = 2, is
retried after 1 s), then alone ("quiet"). Target: API p95 ≤ 300 ms on 100k.

| store | phase | API requests | errors | p50 | p95 | p99 | downloads done | refused (503) | download time | CSV size | load avg | serve peak RSS |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
{load}
"""
    replace_section(path, "## Read side under abuse (benchmarks/web_load.py --abuse)", section)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", default="replica,8000,100000")
    parser.add_argument("--postgres", action="store_true", help="also each synthetic store on PostgreSQL")
    parser.add_argument("--requests", type=int, default=150, help="requests per client")
    parser.add_argument("--cache-mb", default="8,0", help="web.cache_mb of each run per store (8: the default; 0: every answer computed)")
    parser.add_argument("--notes", type=Path, help="a file whose text follows the tables (how to read them)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw", help="the load generator's HTTP client")
    parser.add_argument("--mix", choices=("default", "insights"), default="default",
                        help="insights: the mix plus /insights, /api/v1/stats, group and filer pages (reported in their own section)")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--from-json", type=Path, help="only write the report of an earlier run's output")
    parser.add_argument("--abuse", action="store_true", help="rare-term queries and API load under full downloads (issue 19)")
    parser.add_argument("--url", action="append", default=[], help="--abuse on an existing store (label=url), instead of building --stores")
    args = parser.parse_args()
    if args.abuse:
        with tempfile.TemporaryDirectory() as tmp_name:
            stores = [tuple(value.split("=", 1)) for value in args.url]
            if not stores:
                for store in args.stores.split(","):
                    url = f"sqlite:///{tmp_name}/{store}.db"
                    build_synthetic(url, int(store))
                    stores.append((f"{store}-sqlite", url))
            results = []
            for label, url in stores:
                results.append(run_abuse(url, label, Path(tmp_name), args.requests))
                print(json.dumps(results[-1], ensure_ascii=False), file=sys.stderr)
        print(json.dumps(results, indent=2, ensure_ascii=False))
        if args.write:
            write_abuse_markdown(args.write, results, args.requests)
        return
    if args.from_json:
        notes = "\n" + args.notes.read_text(encoding="utf-8") if args.notes else ""
        found = json.loads(args.from_json.read_text(encoding="utf-8"))
        writer = write_insights_markdown if args.mix == "insights" else write_markdown
        writer(args.write or ROOT / "docs" / "benchmarks.md", found, args.requests, notes)
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for store in args.stores.split(","):
            targets = [("sqlite", f"sqlite:///{tmp}/{store}.db")]
            if args.postgres:
                targets.append(("postgres", None))
            for backend, url in targets:
                schema = None
                if backend == "postgres":
                    import sqlalchemy as sa

                    schema = f"bench_{store}"
                    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
                assert url is not None
                built = time.perf_counter()
                if store == "replica":
                    build_replica(url, tmp)
                else:
                    build_synthetic(url, int(store))
                print(f"{store} on {backend}: built in {time.perf_counter() - built:.1f}s", file=sys.stderr)
                for cache_mb in (int(value) for value in args.cache_mb.split(",")):
                    loop_s = python_speed()
                    result = run_load(url, f"{store}-{backend}", args.requests, tmp, args.client, cache_mb, args.mix == "insights")
                    result["python_loop_s"] = loop_s
                    result["backend"] = backend
                    results.append(result)
                    print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
                if schema:
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.write:
        writer = write_insights_markdown if args.mix == "insights" else write_markdown
        writer(args.write, results, args.requests, "\n" + args.notes.read_text(encoding="utf-8") if args.notes else "")


def _cache(r: dict[str, Any]) -> str:
    return f"{r['cache_mb']} MB" if r.get("cache_mb", 8) else "off"


def write_markdown(path: Path, results: list[dict[str, Any]], requests: int, notes: str = "") -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    client = results[0].get("client", "httpx") if results else "raw"
    rows = "\n".join(
        f"| {r['label'].rsplit('-', 1)[0]} | {r['backend']} | {_cache(r)} | {r['filings']:,} | {r['requests']} | {r['error_count']} | {r['throughput']:.0f}/s | "
        f"{r['p50']:.0f} ms | **{r['p95']:.0f} ms** | {r['p99']:.0f} ms | {r.get('server_cpu_ms', float('nan')):.2f} ms | {r['peak_rss_mb']:.0f} MB | "
        f"{r['startup_index_s']:.1f} s | " + ("{:.1f} → {:.1f}".format(*r["load"]) if "load" in r else "—") + " |"
        for r in results
    )
    kinds = "\n".join(
        f"| {r['label']} | {_cache(r)} | " + " | ".join(f"{r['by_kind'][k]['p95']:.0f}" if k in r["by_kind"] else "—" for k in ("search", "filter", "filing", "feed", "page")) + " |"
        for r in results
    )
    section = f"""## Web app under load (benchmarks/web_load.py)

Measured {date.today().isoformat()} on {machine}: `cacwatch serve` (one uvicorn process) with {CLIENTS}
concurrent clients, {requests} requests each, on the same machine as the clients (they share its cores).
Each client loops over a shuffled mix: search (Chinese substrings, English group and filer names,
filing numbers with spaces and full-width digits), filters (kind + province + status, list month),
one filing (JSON and its page), the list feed, a saved-search feed and the search page; each path of
a client's mix comes back about four times. The clients ({client}) keep one HTTP/1.1 connection each
and time a request from writing it to having read the whole body ("raw": written and read by hand,
~0.05 ms of CPU a request, so that the load generator does not take the server's CPU; httpx took ~0.8 ms).
`replica` is the bundled replica ingested by `check --once`; the numbers are synthetic stores written
through the ingest path from the replica's real rows. "cache" is `web.cache_mb` (8 MB is the default;
off: every answer computed, as for a stream of requests never seen before). "CPU/req" is the serve
process's CPU time divided by the requests. "index" is the time from start to the first answer,
which includes building the search index of a store never indexed before.
Targets: p95 ≤ 100 ms (~8k filings), ≤ 300 ms (100k), serve ≤ 150 MB. "load avg" is the machine's
1-minute load average before → after the run: above 2 (its core count) other processes were
competing for the CPU, and latency under 16 clients is then mostly queueing.

| store | database | cache | filings | requests | errors | throughput | p50 | p95 | p99 | CPU/req | serve peak RSS | index | load avg |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}

p95 per kind of request (ms):

| store | cache | search | filter | filing | feed | page |
|---|---|---|---|---|---|---|
{kinds}
{notes}"""
    replace_section(path, "## Web app under load (benchmarks/web_load.py)", section)


_INSIGHTS_SECTION = "## Insights, group and filer pages under load (benchmarks/web_load.py --mix insights)"


def write_insights_markdown(path: Path, results: list[dict[str, Any]], requests: int, notes: str = "") -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    machine += speed_note(results[0].get("python_loop_s") if results else None)
    rows = "\n".join(
        f"| {r['label'].rsplit('-', 1)[0]} | {r['backend']} | {_cache(r)} | {r['filings']:,} | {r['requests']} | {r['error_count']} | "
        f"{r['throughput']:.0f}/s | {r['p50']:.0f} ms | **{r['p95']:.0f} ms** | "
        + (f"{r['by_kind']['insights']['p50']:.0f} ms | **{r['by_kind']['insights']['p95']:.0f} ms** | " if "insights" in r["by_kind"] else "— | — | ")
        + " / ".join(f"{r.get('cold_ms', {}).get(p, float('nan')):.0f}" for p in ("/api/v1/stats", "/insights", "/groups/bytedance"))
        + " ms | " + " / ".join(f"{r.get('cold_ms', {}).get(p, float('nan')):.0f}" for p in ("largest group", "largest filer"))
        + f" ms | {r['peak_rss_mb']:.0f} MB | " + ("{:.1f} → {:.1f}".format(*r["load"]) if "load" in r else "—") + " |"
        for r in results
    )
    section = f"""{_INSIGHTS_SECTION}

Measured {date.today().isoformat()} on {machine}: the mix of the section above (16 clients, {requests}
requests each) with, in every client's loop, `/api/v1/stats` (all and one series), `/insights` (all,
and one series and list month), a company group's page (`/groups/{{key}}`) and a filer's page
(`/entities/{{name}}`): the class "insights". Their numbers are GROUP BY aggregates over the filings
listed now (storage/insights_repo.py), kept per data stamp (`WebState.cached`); a group's or filer's
page is computed by the database (`storage.filer_identity.filer_page`: the key columns of each
filing, whole records only of the rows shown); whole answers are kept by the answer cache like
every GET. "cold" is the first `/api/v1/stats`, `/insights` and `/groups/bytedance` after start
(every aggregate computed once, before the load), then, alone, the page of the largest group of
the mix and of the largest filer. Target: p95 ≤ 300 ms at 16 clients on 100k filings.

| store | database | cache | filings | requests | errors | throughput | p50 | p95 | insights p50 | insights p95 | cold stats / insights / group | largest group / filer page, alone | serve peak RSS | load avg |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}
{notes}"""
    replace_section(path, _INSIGHTS_SECTION, section)


if __name__ == "__main__":
    main()
