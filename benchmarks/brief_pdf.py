"""How long the PDF brief of the largest list takes, and the memory it needs (issue 21).

Builds a SQLite store of 17 deep-synthesis lists sized like the real series (41 … 779 rows,
~7,000 filings), whose rows recycle the bundled sample's real filers, products and purposes
(so big-tech groups, foreign filers and examples are as many as in a real list), then:

1. ``cacwatch brief deep_synthesis <largest> --format pdf --lang both`` as its own process,
   three times: wall time and the process's peak RSS (what a CLI user or a cron job pays);
2. in this process: gathering the facts, then rendering (first render: imports and the font
   parsed; then warm renders), and the RSS before and after (what the web app pays, beside
   what it already holds).

Run: ``python benchmarks/brief_pdf.py`` (from the checkout, with the font installed).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = (41, 110, 129, 300, 492, 487, 389, 300, 338, 400, 500, 600, 779, 420, 350, 410, 420)


def months(n: int) -> list[str]:
    out, year, month = [], 2023, 6
    for _ in range(n):
        out.append(f"{year}-{month:02d}")
        month += 2
        if month > 12:
            year, month = year + 1, month - 12
    return out


def build(url: str) -> str:
    from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
    from storage.db import Database
    from storage.repo import Repository

    sample = [json.loads(line) for line in (ROOT / "tests" / "data" / "expected.jsonl").read_text().splitlines()]
    sample = [r for r in sample if r["kind"] in ("deep_synthesis", "algorithm_recommendation")]
    db = Database(url)
    db.migrate()
    largest = ""
    serial = 0
    with db.session() as session:
        repo = Repository(session)
        for index, (month, size) in enumerate(zip(months(len(SIZES)), SIZES), 1):
            rows = []
            for i in range(size):
                source = sample[serial % len(sample)]
                serial += 1
                rows.append(FilingRow(
                    kind=Kind.DEEP_SYNTHESIS, filing_number=f"网信算备110108{serial:07d}0124{i % 1000:03d}1号",
                    name=source["name"], entity=source["entity"], role="provider" if i % 4 else "technical_supporter",
                    category=None, products=tuple(source["products"]), purpose=source["purpose"],
                    province=source["province"], remark="", status=Status.ACTIVE, filed_on=None, row_index=i,
                ))
            ref = ListRef(kind=Kind.DEEP_SYNTHESIS, list_month=month, name=f"境内深度合成服务算法备案清单（{month}）",
                          title=f"第{index}批", page_url=f"https://www.cac.gov.cn/{month}/c_{index}.htm",
                          attachment_url=f"https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=b{index}")
            repo.ingest(ParsedList(ref, hashlib.sha256(month.encode()).hexdigest(), "docx", tuple(rows)), f"b{index}")
            if size == max(SIZES):
                largest = month
    db.dispose()
    return largest


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="brief-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    largest = build(url)
    config = tmp / "config.yaml"
    config.write_text(f'database:\n  url: "{url}"\n')
    print(f"store: {len(SIZES)} deep-synthesis lists, {sum(SIZES):,} filings; largest {largest} ({max(SIZES)} rows)")

    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], capture_output=True); "
        "print(round(time.perf_counter() - t, 2), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, r.returncode)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(3):
        out = tmp / f"brief{run}.pdf"
        cmd = [sys.executable, "-c", wrapper, sys.executable, "-m", "bot.cli", "--config", str(config), "brief",
               "deep_synthesis", largest, "--format", "pdf", "--lang", "both", "--output", str(out)]
        seconds, peak, code = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT).stdout.split()
        assert code == "0"
        print(f"cli run {run + 1}: {seconds} s wall, peak RSS {peak} MB, {out.stat().st_size:,} bytes")

    from bot.briefs.facts import gather
    from bot.briefs.render import render
    from storage.db import Database

    before = rss_mb()
    db = Database(url)
    started = time.perf_counter()
    with db.session() as session:
        facts = gather(session, "deep_synthesis", largest)
    gathered = time.perf_counter() - started
    timings = []
    for _ in range(4):
        started = time.perf_counter()
        render(facts, "pdf", "both")
        timings.append(time.perf_counter() - started)
    after = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"in process: facts {gathered * 1000:.0f} ms; render first {timings[0]:.2f} s, then "
          + ", ".join(f"{t:.2f}" for t in timings[1:]) + " s")
    print(f"in process: RSS {before:.0f} MB before, {after:.0f} MB after, peak {peak:.0f} MB")

    # The web app: the brief is rendered in a spawned child; the server's own RSS should not move.
    sys.path.insert(0, str(ROOT / "tests"))
    import httpx
    from web_helpers import serve_process

    def server_rss(pid: int) -> float:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))

    with serve_process(config) as (base, process):
        with httpx.Client(base_url=base, timeout=600) as client:
            client.get("/lists/deep_synthesis/" + largest)  # warm the page machinery first
            idle = server_rss(process.pid)
            started = time.perf_counter()
            cold = client.get(f"/lists/deep_synthesis/{largest}/brief.pdf", params={"lang": "both"})
            cold_s = time.perf_counter() - started
            started = time.perf_counter()
            warm = client.get(f"/lists/deep_synthesis/{largest}/brief.pdf", params={"lang": "both"})
            warm_s = time.perf_counter() - started
            assert cold.status_code == warm.status_code == 200
            print(f"web: first request {cold_s:.2f} s (child render), again {warm_s * 1000:.0f} ms (kept); "
                  f"server RSS {idle:.0f} MB before, {server_rss(process.pid):.0f} MB after")


if __name__ == "__main__":
    main()
