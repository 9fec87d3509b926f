"""Query parameters shared by the API, the search page, the downloads and the filings feed.

One definition of what is valid, so every entry point answers bad input the same way: a 4xx
with a one-line reason naming the parameter, never a 5xx.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from bot.changes.companies import BIG_TECH, FOREIGN
from scrapers.records import Kind
from storage.corpus import FilingQuery

__all__ = [
    "ParamError",
    "KINDS",
    "STATUSES",
    "ROLES",
    "MAX_TEXT",
    "FILTER_PARAMS",
    "GROUP_KEYS",
    "check_known",
    "clean_text",
    "filing_query",
    "parse_limit",
    "parse_kind",
]

KINDS: tuple[str, ...] = tuple(k.value for k in Kind)
STATUSES = ("active", "cancelled")
ROLES = ("provider", "technical_supporter")
REGISTRATIONS = ("filed", "registered")
MAX_TEXT = 200  # longer than any CAC name or purpose a person would paste
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FILTER_PARAMS = ("q", "kind", "entity", "province", "status", "list_month", "role", "category", "registration", "group", "foreign")
# Company groups and foreign companies by key (bytedance, hp): bot.changes.companies' tables.
GROUP_KEYS: tuple[str, ...] = tuple(dict.fromkeys([*(g.key for g in BIG_TECH), *(f.key for f in FOREIGN)]))


class ParamError(ValueError):
    """A bad parameter; the message names it."""


def check_known(params: Iterable[str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ParamError(f"{unknown[0]}: unknown parameter (known: {', '.join(sorted(allowed))})")


def clean_text(name: str, value: str | None) -> str | None:
    """Free text: at most MAX_TEXT characters, no control characters (PostgreSQL rejects NUL)."""
    if value is None:
        return None
    if len(value) > MAX_TEXT:
        raise ParamError(f"{name}: longer than {MAX_TEXT} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n\r" for ch in value):
        raise ParamError(f"{name}: contains control characters")
    return value


def parse_kind(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in KINDS:
        raise ParamError(f"kind: unknown kind {value[:40]!r} (one of {', '.join(KINDS)})")
    return value


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in choices:
        raise ParamError(f"{name}: {value[:40]!r} is not one of {', '.join(choices)}")
    return value


def filing_query(params: Mapping[str, str], *, blank_is_none: bool = False) -> FilingQuery:
    """The filters of a request. ``blank_is_none``: an empty form field means "any" (pages)."""

    def text(name: str) -> str | None:
        value = clean_text(name, params.get(name))
        return None if blank_is_none and value == "" else value

    month = text("list_month")
    if month is not None and not _MONTH.match(month):
        raise ParamError("list_month: expected YYYY-MM")
    return FilingQuery(
        q=text("q") or "",
        kind=parse_kind(params.get("kind")),
        entity=text("entity"),
        province=text("province"),
        status=_choice("status", params.get("status"), STATUSES),
        list_month=month,
        role=_choice("role", params.get("role"), ROLES),
        category=text("category"),
        registration=_choice("registration", params.get("registration"), REGISTRATIONS),
        group=_choice("group", params.get("group"), GROUP_KEYS),
        foreign={"true": True, "false": False, None: None}[_choice("foreign", params.get("foreign"), ("true", "false"))],
    )


def parse_limit(value: str | None, *, default: int = 50, maximum: int = 500) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", value.strip()):
        raise ParamError(f"limit: expected a whole number from 1 to {maximum}")
    limit = int(value)
    if not 1 <= limit <= maximum:
        raise ParamError(f"limit: must be from 1 to {maximum}, not {limit}")
    return limit
