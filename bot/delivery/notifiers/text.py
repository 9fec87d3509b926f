"""Plain-text summaries of events, shared by every text channel (Apprise, chat, mail).

The findings already carry one sentence in Chinese and one in English, so the summary is
mostly layout: what list, how many filings, why it matters, where to read it.
``language`` picks ``"zh"``, ``"en"`` or ``"both"`` (Chinese line first, English under it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from bot.changes.event_schema import BaselineData, Event, Finding, ListEvent
from bot.changes.genai import (
    companies_among,
    company_sentences,
    event_split,
    event_totals,
    provinces_sentences,
    records_cover,
    split_sentences,
    top_registration_provinces,
    totals_sentences,
)
from bot.changes.vocabulary import kind_names, published_label
from bot.settings.paths import archived_file_url

__all__ = ["plain_summary", "summary_title", "KIND_NAMES", "Language"]

Language = Literal["both", "zh", "en"]

# (zh, en) per kind; unknown kinds show their code.
KIND_NAMES: dict[str, tuple[str, str]] = kind_names("series")

_HEADINGS: dict[str, tuple[str, str]] = {
    "list.published": ("新名单", "New list"),
    "list.revised": ("名单更新", "List revised"),
    "baseline.established": ("基线建立", "Baseline established"),
}


def _one_line(value: str | None) -> str:
    # Data comes from a government site: keep a stray newline in a title from
    # breaking the layout (content itself is passed through unchanged otherwise).
    return re.sub(r"\s+", " ", value or "").strip()


def _kind(kind: str) -> tuple[str, str]:
    return KIND_NAMES.get(kind, (kind, kind))


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _pick(language: str, zh: str, en: str) -> list[str]:
    if language == "zh":
        return [zh]
    if language == "en":
        return [en]
    return [zh, en] if zh != en else [zh]


def summary_title(event: Event, language: Language = "both") -> str:
    """One line: what happened (``新名单 · New list: Deep synthesis algorithms 2026-05``)."""
    zh_head, en_head = _HEADINGS[event["type"]]
    if event["type"] == "baseline.established":
        return " · ".join(_pick(language, zh_head, en_head))
    data = event["data"]
    kind_zh, kind_en = _kind(data["kind"])
    month = _one_line(data["list_month"])
    zh = f"{zh_head}：{kind_zh} {month}".strip()
    en = f"{en_head}: {kind_en} {month}".strip()
    part = data.get("part")
    if part:
        zh += f"（第{part['index']}/{part['total']}部分）"
        en += f" (part {part['index']} of {part['total']})"
    return " · ".join(_pick(language, zh, en))


def _findings(notable: Iterable[Finding], language: str, told: Iterable[str] = ()) -> list[str]:
    lines: list[str] = []
    skipped = set(told)
    for finding in notable:
        if finding["type"] in skipped:
            continue
        texts = _pick(language, _one_line(finding["zh"]), _one_line(finding["en"]))
        texts = [t for t in texts if t]
        if texts:
            lines.append(f"• {texts[0]}")
            lines.extend(f"  {t}" for t in texts[1:])
    return lines


def _list_body(event: ListEvent, language: str) -> list[str]:
    data = event["data"]
    lines: list[str] = []
    for text in (_one_line(data["title"]), _one_line(data["name"])):
        if text and text not in lines:
            lines.append(text)
    published = data.get("published")
    if published:
        lines += _pick(language, *published_label(published["on"], published["basis"]))
    counts = data["counts"]
    new, changed, removed = counts["new"], counts["changed"], counts["removed"]
    lines += _pick(
        language,
        f"新增 {new} · 变更 {changed} · 移除 {removed}",
        f"New {new:,} · changed {changed:,} · removed {removed:,}",
    )
    return lines


def _genai_body(event: ListEvent, language: str) -> tuple[list[str], set[str]]:
    """A GenAI list's split (filed / registered / on-device with 适用场景), the provinces with
    most registrations, every big-tech group and foreign company among the new filings, and
    CAC's stated totals; and the finding types these lines tell in full."""
    data = event["data"]
    pairs: list[tuple[str, str]] = []
    told: set[str] = set()
    split = event_split(data)
    if split is not None and (split.total or data["counts"]["new"]):
        pairs.append(split_sentences(data["list_month"], split, data["counts"]["new"] or None))
    if data["new"] and records_cover(data):
        provinces = provinces_sentences(top_registration_provinces(data["new"]))
        pairs += [provinces] if provinces else []
        groups, foreign = companies_among(data["new"])
        pairs += company_sentences(groups, foreign)
        told |= ({"big_tech"} if groups else set()) | ({"foreign"} if foreign else set())
    totals = event_totals(data)
    if totals is not None:
        zh, en, _ = totals_sentences(totals)
        pairs.append((zh, en))
        told.add("totals_mismatch")
    lines: list[str] = []
    for zh, en in pairs:
        lines += _pick(language, _one_line(zh), _one_line(en))
    return lines, told


def _baseline_body(data: BaselineData, language: str) -> list[str]:
    lists, filings = data["counts"]["lists"], data["counts"]["filings"]
    lines = _pick(
        language,
        f"已记录 {lists} 份名单、{filings} 项备案。",
        f"{_n(lists, 'list')} and {_n(filings, 'filing')} on record.",
    )
    for kind, totals in data["by_kind"].items():
        kind_zh, kind_en = _kind(kind)
        n_lists, n_filings, cancelled = totals["lists"], totals["filings"], totals["cancelled"]
        zh = f"{kind_zh}：{n_lists} 份名单，{n_filings} 项备案"
        en = f"{kind_en}: {_n(n_lists, 'list')}, {_n(n_filings, 'filing')}"
        if cancelled:
            zh += f"（已注销 {cancelled}）"
            en += f" ({cancelled:,} cancelled)"
        lines += [f"• {t}" if i == 0 else f"  {t}" for i, t in enumerate(_pick(language, zh, en))]
    return lines


def plain_summary(event: Event, language: Language = "both", public_url: str | None = None) -> str:
    """The event as a few lines of plain text (no markup), in one or both languages; with
    ``public_url`` (``web.public_url``), cacwatch's archived copy of the list's file beside
    CAC's links."""
    if language not in ("both", "zh", "en"):
        raise ValueError(f"language must be both, zh or en, not {language!r}")
    lines = [summary_title(event, language)]
    links: list[str] = []
    told: set[str] = set()
    if event["type"] == "baseline.established":
        lines += _baseline_body(event["data"], language)
    else:
        lines += _list_body(event, language)
        genai, told = _genai_body(event, language)
        lines += genai
        data = event["data"]
        archived = archived_file_url(public_url, data["kind"], data["list_month"], data["title"], data["name"])
        links = [_one_line(data["page_url"]), _one_line(data["attachment_url"])]
        links = [link for link in links if link]
        if archived:
            links.append(" / ".join(_pick(language, f"存档原件：{archived}", f"Archived file: {archived}")))
    findings = _findings(event["data"]["notable"], language, told)
    if findings:
        lines.append("")
        lines += findings
    if links:
        lines.append("")
        lines += links
    return "\n".join(lines)
