"""Cron benchmark: `cacwatch check --once` as cron runs it, with every notifier configured.

    python benchmarks/cron.py [--scale 4] [--extra-lists 21] [--latency 0.03] [--idle-runs 7]
                              [--before REF] [--write docs/benchmarks.md]

On tests/large_replica.py's replica (as benchmarks/ingest.py builds it), each run a fresh process
(`python -m bot.cli check --once`, process start to exit): the first ingest on an empty store,
then idle runs one after another — the front door only, as the service polls, because
`sources.cac.revalidate_interval` (12 h) has not passed — then one run with `--full` (what every
run did before cron kept the tiers). Requests are counted at the replica; memory is the process
tree's peak RSS. Notifiers: a webhook receiver, a fake Telegram Bot API (charts) and an SMTP server
(digests with attachments), all on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from ingest import build_site, cli as ingest_cli, compile_bytecode, notifier_servers, run_measured, write_config  # noqa: E402
from report import python_speed, replace_section, speed_note  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--extra-lists", type=int, default=21)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--idle-runs", type=int, default=7)
    parser.add_argument("--before", metavar="REF", help="also a checkout of REF (git archive), first and idle runs alternating with this code")
    parser.add_argument("--user-venv", type=Path, metavar="DIR",
                        help="run with the python of a virtual environment holding `pip install .` alone, as users install it "
                             "(made at DIR when missing): no test or dev extras, no editable-install finder")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--from-json", type=Path, help="only write the report of an earlier run's output (its stdout)")
    args = parser.parse_args()
    if args.from_json:
        write_markdown(args.write or ROOT / "docs" / "benchmarks.md", json.loads(args.from_json.read_text(encoding="utf-8")))
        return

    from scrapers.replica.server import ReplicaServer

    python = user_venv(args.user_venv) if args.user_venv else Path(sys.executable)

    def cli(config: Path, *cli_args: str) -> list[str]:
        return [str(python), *ingest_cli(config, *cli_args)[1:]]

    compile_bytecode(ROOT)
    loop_s = python_speed()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        site = build_site(tmp / "replica", args.scale, args.extra_lists)
        routes = json.loads(site.routes.read_text(encoding="utf-8"))
        lists = sum(1 for key in routes if "downloadfile.jsp" in key)
        with ReplicaServer(site.site, site.routes) as server, notifier_servers("all") as notify:
            server.delay = args.latency
            config = write_config(tmp / "config.yaml", server.base_url, f"sqlite:///{tmp}/cron.db", tmp / "data",
                                  cac={"revalidate_interval": "12h"}, notify=notify)
            if args.before:
                before_root = checkout(args.before, tmp / "before")
                before_config = write_config(tmp / "before.yaml", server.base_url, f"sqlite:///{tmp}/before.db", tmp / "before-data",
                                             cac={"revalidate_interval": "12h"}, notify=notify)
                before_first = run_measured(cli(before_config, "check", "--once"), server, before_root)
            first = run_measured(cli(config, "check", "--once"), server)
            idle, before_idle = [], []
            for _ in range(args.idle_runs):  # alternating: both see the same load
                if args.before:
                    before_idle.append(run_measured(cli(before_config, "check", "--once"), server, before_root))
                idle.append(run_measured(cli(config, "check", "--once"), server))
            full = run_measured(cli(config, "check", "--once", "--full"), server)
    walls = sorted(r["wall"] for r in idle)
    result = {
        "lists": lists,
        "filings": len(site.expected),
        "first": {k: v for k, v in first.items() if k != "stdout"},
        "idle": [{k: v for k, v in r.items() if k != "stdout"} for r in idle],
        "idle_median_s": statistics.median(walls),
        "idle_max_s": walls[-1],
        "idle_requests": sorted({r["requests"] for r in idle}),
        "idle_to_first_request_s": statistics.median(r["to_first_request"] for r in idle),
        "idle_cpu_s": statistics.median(r["cpu"] for r in idle),
        "full": {k: v for k, v in full.items() if k != "stdout"},
        "load_average": [load_before, os.getloadavg()],
        "python_loop_s": loop_s,
    }
    if args.before:
        result["before"] = {
            "ref": args.before,
            "first": {k: v for k, v in before_first.items() if k != "stdout"},
            "idle_median_s": statistics.median(r["wall"] for r in before_idle),
            "idle_cpu_s": statistics.median(r["cpu"] for r in before_idle),
            "idle_to_first_request_s": statistics.median(r["to_first_request"] for r in before_idle),
            "idle_requests": sorted({r["requests"] for r in before_idle}),
        }
    result["python"] = "a `pip install .` virtual environment" if args.user_venv else "the development environment (editable, test extras)"
    print(json.dumps(result, indent=2))
    if args.write:
        write_markdown(args.write, result)


def user_venv(target: Path) -> Path:
    """The python of a virtual environment with this checkout installed as users install it."""
    python = target / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], check=True)
    return python


def checkout(ref: str, target: Path) -> Path:
    """The tree of ``ref`` (``git archive``), byte-compiled as an install leaves it."""
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    compile_bytecode(target)
    return target


def _before_after(r: dict[str, Any]) -> str:
    if "before" not in r:
        return ""
    b, first = r["before"], r["first"]
    rows = [
        ("first ingest, wall", f"{b['first']['wall']:.2f} s", f"{first['wall']:.2f} s"),
        ("first ingest, CPU", f"{b['first']['cpu']:.2f} s", f"{first['cpu']:.2f} s"),
        ("idle run, wall (median)", f"{b['idle_median_s']:.2f} s", f"{r['idle_median_s']:.2f} s"),
        ("idle run, CPU (median)", f"{b['idle_cpu_s']:.2f} s", f"{r['idle_cpu_s']:.2f} s"),
        ("idle run, start → first request", f"{b['idle_to_first_request_s']:.2f} s", f"{r['idle_to_first_request_s']:.2f} s"),
        ("idle / first, wall", f"{b['idle_median_s'] / b['first']['wall']:.3f}", f"**{r['idle_median_s'] / first['wall']:.3f}**"),
        ("idle / first, CPU", f"{b['idle_cpu_s'] / b['first']['cpu']:.3f}", f"{r['idle_cpu_s'] / first['cpu']:.3f}"),
        ("idle requests", ", ".join(map(str, b["idle_requests"])), ", ".join(map(str, r["idle_requests"]))),
    ]
    table = "\n".join(f"| {name} | {old} | {new} |" for name, old, new in rows)
    return f"""
Before and after, in the same run (`--before {b['ref']}`: that commit's tree, its own store; first
ingests one after the other, then idle runs alternating):

| measure | before ({b['ref']}) | this code |
|---|---|---|
{table}
"""


def write_markdown(path: Path, r: dict[str, Any]) -> None:
    machine = (f"{platform.machine()}, {os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, {platform.system()}"
               + speed_note(r.get("python_loop_s")))
    load = " → ".join("/".join(f"{v:.1f}" for v in sample) for sample in r["load_average"])
    first, full = r["first"], r["full"]
    idle_peak = max(run["peak_rss_mb"] for run in r["idle"])
    section = f"""## Cron (benchmarks/cron.py)

Measured {date.today().isoformat()} on {machine}; SQLite; load average {load} (start → end). `cacwatch
check --once` as cron runs it — a fresh process each time, process start to exit — on the large
replica ({r['lists']} lists, {r['filings']} filings, 30 ms per request), with every notifier configured
(webhook, Telegram with charts, email with attachments, all on loopback); the runs use {r.get('python', 'the development environment')}.
Command: `python benchmarks/cron.py {('--before ' + r['before']['ref'] + ' ') if 'before' in r else ''}{'--user-venv DIR ' if 'pip install' in r.get('python', '') else ''}--write docs/benchmarks.md`.

| run | time | CPU (user + system) | requests | attachment bodies | peak RSS (tree) |
|---|---|---|---|---|---|
| first (empty store, `first_run: baseline`) | {first['wall']:.2f} s | {first['cpu']:.2f} s | {first['requests']} | {first['attachment_bodies']} | {first['peak_rss_mb']:.0f} MB |
| idle, front door only (median of {len(r['idle'])}; max {r['idle_max_s']:.2f} s) | **{r['idle_median_s']:.2f} s** | {r['idle_cpu_s']:.2f} s | {', '.join(map(str, r['idle_requests']))} | 0 | {idle_peak:.0f} MB |
| `--full` (every attachment re-checked, what each run did before) | {full['wall']:.2f} s | {full['cpu']:.2f} s | {full['requests']} | {full['attachment_bodies']} | {full['peak_rss_mb']:.0f} MB |

- Idle cron run / first ingest: **{r['idle_median_s'] / first['wall']:.3f}** (goal ≤ 0.10) in wall time, {r['idle_cpu_s'] / first['cpu']:.3f} in
  CPU time, with {', '.join(map(str, r['idle_requests']))} requests (goal ≤ 5). Of the idle run, {r['idle_to_first_request_s']:.2f} s pass before its
  first request: Python's start-up and the imports a poll needs (configuration, SQLAlchemy, httpx,
  the page reader). The poll itself is the service's front-door poll (see "Ingest": a fraction
  of a second); what remains is process start-up, which a cron job pays every time. Where that
  matters, `cacwatch run` polls without it.

What an idle run no longer pays (2026-12-07, issue 20 item 1): BeautifulSoup, soupsieve and
charset_normalizer (the CAC pages are read with lxml alone), soupsieve compiling its selectors,
rich (no progress bar off a terminal), httpx's own CLI (rich's tables, pygments, click), the
PostgreSQL dialect on SQLite (it came with the Incident model's dialect options), a scan of
131,000 code points for the text-cleaning table, the collector walking the modules while they
load, the interpreter's teardown walking every object at exit, and (since a later change the
same day) the outbox's delivery machinery with the outbox and endpoint models — one indexed
probe (`storage/outbox_due.py`) says nothing is due; the in-place pages and the
notice API are asked for while the channel page is read (`concurrency: 2` here).
`tests/test_cli_startup.py` keeps the list of what an idle run may not import.

On this machine, shared with other jobs (load average above, on 2 cores), a run's wall time
includes waiting for a CPU, and a first ingest (parse workers) waits more than an idle run: the
CPU times and the before/after rows of the same run are the comparable figures.
{_before_after(r)}"""
    replace_section(path, "## Cron (benchmarks/cron.py)", section)


if __name__ == "__main__":
    main()
