"""CPU cost of the search queries alone (no HTTP, no other clients): the search mix of
benchmarks/web_load.py plus Latin words that the whole-word rule decides (Intel, GPT, Co).

    python benchmarks/search_cost.py [--filings 100000] [--postgres] [--rounds 5]

Builds a synthetic store through the ingest path (``web_load.build_synthetic``), builds its
search index with the tree's own code, then answers every query of the mix ``--rounds`` times
as the API does (``count_filings`` and the first page of 50 through ``search_filings`` with the
download columns). Reported per query kind: median wall time and the process's CPU time per
query (CPU time is what a busy shared machine distorts least). Run it from two trees (before /
after a change of the query) to compare them; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from web_load import POSTGRES_URL, _replica_records, build_synthetic, search_terms  # noqa: E402


def _queries(seed: int = 7) -> dict[str, list[str]]:
    """The search terms of web_load's mix (``search_terms``), plus Latin words that the
    whole-word rule decides."""
    rng = random.Random(seed)
    records = _replica_records()
    chinese, english, numbers = search_terms(rng.sample(records, min(200, len(records))))
    return {
        "chinese": chinese,
        "english": english,
        "numbers": numbers,
        "latin words": ["Intel", "Intelligence", "GPT", "Co", "Technology", "AI", "app", "Beijing Baidu"],
    }


def measure(url: str, rounds: int) -> dict[str, Any]:
    from bot.web.search_text import refresh_index
    from storage.corpus import Corpus, FilingQuery
    from storage.db import Database

    db = Database(url)
    corpus = Corpus(db)
    started = time.perf_counter()
    refresh_index(corpus)
    index_s = time.perf_counter() - started
    result: dict[str, Any] = {"index_s": round(index_s, 1), "kinds": {}}
    for kind, queries in _queries().items():
        walls: list[float] = []
        cpu_start = time.process_time()
        totals = {}
        for _ in range(rounds):
            for q in queries:
                query = FilingQuery(q=q)
                begin = time.perf_counter()
                totals[q] = corpus.count_filings(query)
                corpus.download_page(query, limit=50)
                walls.append(time.perf_counter() - begin)
        cpu = time.process_time() - cpu_start
        result["kinds"][kind] = {
            "queries": len(queries) * rounds,
            "wall_p50_ms": round(statistics.median(walls) * 1000, 2),
            "wall_p95_ms": round(sorted(walls)[int(0.95 * (len(walls) - 1))] * 1000, 2),
            # The database work of SQLite happens in this process; PostgreSQL's in its server
            # (wall time is then the measure, on an idle machine).
            "cpu_ms_per_query": round(cpu * 1000 / len(walls), 2),
            "totals": totals,
        }
    db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--filings", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    out: dict[str, Any] = {"tree": str(ROOT), "filings": args.filings, "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            import sqlalchemy as sa

            schema = f"search_cost_{os.getpid()}"
            admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{tmp}/store.db"
        try:
            build_synthetic(url, args.filings)
            out["backend"] = "postgres" if args.postgres else "sqlite"
            out.update(measure(url, args.rounds))
        finally:
            if args.postgres:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
