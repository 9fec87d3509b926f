"""Readable terminal summaries of what is stored (stats, demo)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.changes.vocabulary import KIND_TABLE_TITLES

__all__ = ["print_stats", "KIND_LABELS"]

KIND_LABELS: dict[str, str] = dict(KIND_TABLE_TITLES)


def print_stats(console: Console, lists: list[dict[str, Any]], counts: dict[str, dict[str, int]]) -> None:
    """Lists per kind with their row counts, then filings per kind and status."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in lists:
        by_kind[item["kind"]].append(item)
    for kind, items in by_kind.items():
        table = Table(title=KIND_LABELS.get(kind, kind), title_justify="left")
        table.add_column("month")
        table.add_column("list", overflow="fold")
        table.add_column("rows", justify="right")
        table.add_column("versions", justify="right")
        table.add_column("state")
        for item in items:
            state = f"[red]{item['error']}[/red]" if item["error"] else "ok"
            table.add_row(item["list_month"], item["name"], str(item["rows"]), str(item["versions"]), state)
        table.add_row("", f"{len(items)} lists", str(sum(i["rows"] for i in items)), "", "", style="bold")
        console.print(table)
    totals = Table(title="Filings", title_justify="left")
    totals.add_column("kind")
    totals.add_column("active", justify="right")
    totals.add_column("cancelled", justify="right")
    for kind, by_status in counts.items():
        totals.add_row(KIND_LABELS.get(kind, kind), str(by_status.get("active", 0)), str(by_status.get("cancelled", 0)))
    console.print(totals)
