"""Pure comparison of two versions of one list's rows, and of a filing's fields.

Kept free of the database so the rules (what counts as changed, cancelled, renamed)
are tested on plain data and reused by storage and notifiers alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapers.records import EXPORT_FIELDS

__all__ = [
    "COMPARED_FIELDS",
    "FieldChanges",
    "RowsDiff",
    "diff_rows",
    "field_changes",
    "change_type",
    "rows_digest",
]

# The export fields a list row determines; ``kind`` and ``filing_number`` are the key and
# ``list_month`` belongs to the filing's first list, not to a row.
COMPARED_FIELDS: tuple[str, ...] = tuple(
    name for name in EXPORT_FIELDS if name not in ("kind", "filing_number", "list_month")
)

FieldChanges = dict[str, list[Any]]  # {"field": [before, after]}


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> FieldChanges:
    """Field-level differences between two records, in COMPARED_FIELDS order."""
    return {
        name: [before.get(name), after.get(name)]
        for name in COMPARED_FIELDS
        if before.get(name) != after.get(name)
    }


def change_type(changes: Mapping[str, Any]) -> str:
    """The headline of a change: a cancellation outranks a rename, which outranks an edit."""
    status = changes.get("status")
    if status and status[1] == "cancelled":
        return "cancelled"
    if "entity" in changes:
        return "renamed"
    return "changed"


@dataclass(frozen=True, slots=True)
class RowsDiff:
    """What differs between the previous and the new content of one list."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: dict[str, FieldChanges] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _by_number(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    # A number repeated within one list (it happens once in deep synthesis) is one filing:
    # the first row stands for it, as in the export.
    keyed: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        keyed.setdefault(row["filing_number"], row)
    return keyed


def diff_rows(before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]) -> RowsDiff:
    old, new = _by_number(before), _by_number(after)
    added = tuple(number for number in new if number not in old)
    removed = tuple(number for number in old if number not in new)
    changed = {
        number: diff
        for number, row in new.items()
        if number in old and (diff := field_changes(old[number], row))
    }
    return RowsDiff(added=added, removed=removed, changed=changed)


def rows_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """A stable hash of a list's normalised rows (order included)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
