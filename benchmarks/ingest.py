"""Ingest benchmark: full first ingest vs a bare sequential fetch-and-parse, idle poll, peak memory.

    python benchmarks/ingest.py [--copies 6] [--latency 0.03] [--write docs/benchmarks.md]

The bundled replica (9 real attachments) is scaled up: each attachment is published ``copies``
more times under new download links on the two in-place pages, so the site has 9 × (copies + 1)
lists. The replica answers every request after ``latency`` seconds (a stand-in for the real
site's round trip). Each phase runs in its own process so peak RSS is that phase's own:

- bare: GET every attachment one after another (Referer set) and parse it — the floor a naive
  scraper pays, no discovery, no storage;
- full: ``check_once`` on an empty SQLite database (discovery, conditional fetch, parse, store);
- idle: ``check_once`` again: nothing changed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import replace_section  # noqa: E402
from scrapers.replica.server import DEFAULT_ROUTES, DEFAULT_SITE_DIR, ReplicaServer  # noqa: E402

IN_PLACE = {"algorithm_recommendation": "2022-08/12/c_1661927474338504.htm", "genai_service": "2024-04/02/c_1713729983803145.htm"}


def build_scaled_site(target: Path, copies: int) -> tuple[Path, Path, list[str]]:
    """Copy the replica and add ``copies`` re-publications of every attachment."""
    site = target / "site"
    shutil.copytree(DEFAULT_SITE_DIR, site)
    routes = json.loads(DEFAULT_ROUTES.read_text(encoding="utf-8"))
    attachments = [(key, value) for key, value in routes.items() if "downloadfile.jsp" in key]
    links: list[str] = []
    for copy in range(copies):
        for index, (_key, value) in enumerate(attachments):
            name = value["disposition"].split("''", 1)[1]
            from urllib.parse import unquote

            original = unquote(name)
            month = 1 + (copy * len(attachments) + index) % 12
            year = 2030 + (copy * len(attachments) + index) // 12
            renamed = original.rsplit("（", 1)[0] + f"（{year}年{month}月）"
            token = f"bench{copy}x{index}"
            new_key = f"/cms/pub/interact/downloadfile.jsp?filepath={token}"
            routes[new_key] = {**value, "disposition": "attachment; filename*=UTF-8''" + quote(renamed)}
            page = IN_PLACE["genai_service" if "生成式" in original else "algorithm_recommendation"]
            links.append((page, f'<p>附件：<a href="{new_key}&fText={quote(renamed)}">{renamed}</a></p>'))
    for page in IN_PLACE.values():
        path = site / page
        extra = "".join(link for target_page, link in links if target_page == page)
        html = path.read_text(encoding="utf-8").replace('<div class="TRS_Editor">', '<div class="TRS_Editor">' + extra, 1)
        path.write_text(html, encoding="utf-8")
    routes_path = target / "routes.json"
    routes_path.write_text(json.dumps(routes, ensure_ascii=False), encoding="utf-8")
    urls = [key for key in routes if "downloadfile.jsp" in key]
    return site, routes_path, urls


def _settings(base_url: str, db_url: str, data_dir: str):  # type: ignore[no-untyped-def]
    from bot.app.config import settings_from_mapping

    return settings_from_mapping(
        {
            "database": {"url": db_url},
            "data_dir": data_dir,
            # Same politeness for every phase: two connections, no pause (the latency is the server's).
            "sources": {"cac": {"base_url": base_url, "beian_url": base_url, "concurrency": 2, "min_delay": 0}},
            "parse_workers": int(os.environ.get("BENCH_PARSE_WORKERS", "1")),
        },
        env={},
    )


def phase_bare(base_url: str, urls: list[str]) -> dict:
    import httpx

    from scrapers.normalize import list_month_from_name
    from scrapers.parse import parse_attachment
    from scrapers.records import Kind, ListRef

    started = time.perf_counter()
    rows = 0
    with httpx.Client(headers={"Referer": base_url + "/", "User-Agent": "Mozilla/5.0"}) as client:
        for url in urls:
            response = client.get(base_url + url)
            name = response.headers.get("content-disposition", "")
            ref = ListRef(Kind.DEEP_SYNTHESIS, list_month_from_name(name) or "2030-01", name, "", base_url, base_url + url)
            kind = Kind.GENAI_SERVICE if "%E7%94%9F%E6%88%90%E5%BC%8F" in name else (
                Kind.DEEP_SYNTHESIS if "%E6%B7%B1%E5%BA%A6" in name else Kind.ALGORITHM_RECOMMENDATION
            )
            ref = ListRef(kind, ref.list_month, name, "", base_url, base_url + url)
            rows += len(parse_attachment(response.content, ref).rows)
    return {"seconds": time.perf_counter() - started, "rows": rows}


def phase_poll(base_url: str, db_url: str, data_dir: str) -> dict:
    import asyncio

    from bot.ingest.pipeline import check_once
    from storage.db import Database

    db = Database(db_url)
    db.migrate()
    started = time.perf_counter()
    report = asyncio.run(check_once(_settings(base_url, db_url, data_dir), db))
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "ok": report.ok,
        "lists": report.lists_checked,
        "changed": len(report.new_lists) + len(report.revised_lists),
        "requests": report.requests,
        "bytes": report.bytes_downloaded,
        "failures": [f"{f.where}: {f.reason}" for f in report.failures][:3],
    }


def child(args: argparse.Namespace) -> None:
    if args.phase == "bare":
        result = phase_bare(args.base_url, json.loads(args.urls))
    else:
        result = phase_poll(args.base_url, args.db, args.data)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (forked parser workers) counted once across the tree."""
    with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree_rss_mb(root: int, proportional: bool = False) -> float:
    """Resident memory of a process and all its descendants (parser workers included), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = _pss_bytes(int(entry)) if proportional else int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


def run_child(*extra: str) -> dict:
    """Run one phase in its own process, sampling the whole process tree's RSS every 20 ms."""
    process = subprocess.Popen([sys.executable, __file__, "--child", *extra], stdout=subprocess.PIPE, text=True)
    peak = peak_pss = 0.0
    while process.poll() is None:
        peak = max(peak, _tree_rss_mb(process.pid))
        peak_pss = max(peak_pss, _tree_rss_mb(process.pid, proportional=True))
        time.sleep(0.02)
    output = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise SystemExit(f"phase failed: {extra}")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_tree_rss_mb"] = peak
    result["peak_tree_pss_mb"] = peak_pss
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--phase")
    parser.add_argument("--base-url")
    parser.add_argument("--urls")
    parser.add_argument("--db")
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        site, routes, urls = build_scaled_site(Path(tmp), args.copies)
        with ReplicaServer(site, routes) as server:
            server.delay = args.latency
            runs: dict[str, list[dict]] = {"bare": [], "full": [], "idle": []}
            # Alternating rounds, median of each: a busy neighbour on the machine skews one run, not all.
            for round_ in range(args.rounds):
                db = f"sqlite:///{tmp}/bench{round_}.db"
                runs["bare"].append(run_child("--phase", "bare", "--base-url", server.base_url, "--urls", json.dumps(urls)))
                runs["full"].append(run_child("--phase", "poll", "--base-url", server.base_url, "--db", db, "--data", f"{tmp}/data{round_}"))
                runs["idle"].append(run_child("--phase", "poll", "--base-url", server.base_url, "--db", db, "--data", f"{tmp}/data{round_}"))
    median = {name: sorted(values, key=lambda r: r["seconds"])[len(values) // 2] for name, values in runs.items()}
    results = {"lists": len(urls), "latency": args.latency, "rounds": args.rounds, "parse_workers": os.environ.get("BENCH_PARSE_WORKERS", "1"), **median}
    print(json.dumps(results, indent=2))
    if args.write:
        write_markdown(args.write, results)


def write_markdown(path: Path, r: dict) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    section = f"""## Ingest (benchmarks/ingest.py)

Measured {date.today().isoformat()} on {machine}; SQLite; {r['lists']} lists
(the bundled replica's 9 real attachments, each re-published {r['lists'] // 9 - 1} more times),
replica latency {r['latency'] * 1000:.0f} ms per request; the pipeline with `concurrency: 2`, `min_delay: 0`,
`parse_workers: {r['parse_workers']}`; median of {r['rounds']} alternating rounds. Memory is sampled every 20 ms over
the whole process tree (the parser worker and its forkserver included): RSS counts pages shared
between them once per process, PSS shares them out.

| phase | time | requests | downloaded | peak RSS | peak PSS |
|---|---|---|---|---|---|
| bare sequential fetch + parse (floor) | {r['bare']['seconds']:.2f} s | {r['lists']} | — | {r['bare']['peak_tree_rss_mb']:.0f} MB | {r['bare']['peak_tree_pss_mb']:.0f} MB |
| first full ingest (`check --once`) | {r['full']['seconds']:.2f} s | {r['full']['requests']} | {r['full']['bytes'] / 1024:.0f} KiB | {r['full']['peak_tree_rss_mb']:.0f} MB | {r['full']['peak_tree_pss_mb']:.0f} MB |
| idle poll | {r['idle']['seconds']:.2f} s | {r['idle']['requests']} | {r['idle']['bytes'] / 1024:.0f} KiB | {r['idle']['peak_tree_rss_mb']:.0f} MB | {r['idle']['peak_tree_pss_mb']:.0f} MB |

Full ingest / bare: {r['full']['seconds'] / r['bare']['seconds']:.2f} (target ≤ 1, aim 0.5).
Idle / full: {r['idle']['seconds'] / r['full']['seconds']:.2f} (target ≤ 0.25); attachments downloaded again by the idle poll:
{'none' if r['idle']['bytes'] < 64 * 1024 and r['idle']['changed'] == 0 else 'SOME'}.
"""
    replace_section(path, "## Ingest (benchmarks/ingest.py)", section)


if __name__ == "__main__":
    main()
