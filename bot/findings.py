"""Notable findings: what makes a list worth reading, as structured data with zh and en text.

Pure functions over plain records (event_schema shapes), reused by every notifier.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bot.companies import KIND_NAMES, big_tech_group, english_name, foreign_filer
from bot.event_schema import Finding
from bot.watchlist import Watchlist

__all__ = ["findings_for_list", "findings_for_baseline", "rank_of", "ordinal_largest"]

_ORDINAL_WORDS = {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth", 9: "ninth", 10: "tenth"}
_ZH_ORDINAL = "一二三四五六七八九十"


def rank_of(size: int, sizes: Sequence[int]) -> int:
    """1 + the number of lists strictly larger (ties share a rank)."""
    return 1 + sum(1 for other in sizes if other > size)


def ordinal_largest(rank: int, of: int) -> str:
    if rank == 1:
        return "the largest"
    if rank == of and of > 2:
        return "the smallest"
    if rank in _ORDINAL_WORDS:
        return f"the {_ORDINAL_WORDS[rank]}-largest"
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"the {rank}{suffix}-largest"


def _zh_rank(rank: int, of: int) -> str:
    if rank == 1:
        return "规模最大"
    if rank == of and of > 2:
        return "规模最小"
    label = _ZH_ORDINAL[rank - 1] if rank <= 10 else str(rank)
    return f"规模第{label}"


def _finding(kind: str, zh: str, en: str, data: dict[str, Any]) -> Finding:
    return {"type": kind, "zh": zh, "en": en, "data": data}


def _rank(kind: str, list_month: str, size: int, sizes: Sequence[tuple[str, int]]) -> Finding | None:
    if len(sizes) < 2:
        return None
    rank = rank_of(size, [s for _, s in sizes])
    zh_kind, en_kind = KIND_NAMES.get(kind, (kind, kind))
    return _finding(
        "rank",
        f"本批 {size} 条，在 {len(sizes)} 批{zh_kind}备案中{_zh_rank(rank, len(sizes))}",
        f"{size:,} filings — {ordinal_largest(rank, len(sizes))} of {len(sizes)} {en_kind} lists",
        {"size": size, "rank": rank, "of": len(sizes), "kind": kind},
    )


def _size_change(list_month: str, size: int, sizes: Sequence[tuple[str, int]]) -> Finding | None:
    earlier = [(month, count) for month, count in sizes if month < list_month]
    if not earlier:
        return None
    previous_month, previous = earlier[-1]
    delta = size - previous
    percent = f"{delta / previous:+.0%}" if previous else "new"
    return _finding(
        "size_change",
        f"较上一批（{previous_month}，{previous} 条）{'增加' if delta >= 0 else '减少'} {abs(delta)} 条（{percent}）",
        f"{'+' if delta >= 0 else '−'}{abs(delta):,} against the previous list ({previous_month}: {previous:,}), {percent}",
        {"previous": previous, "delta": delta, "previous_list_month": previous_month},
    )


def _top_filers(records: Sequence[Mapping[str, Any]]) -> Finding | None:
    counts = Counter(r.get("entity") or "" for r in records if r.get("entity"))
    top = [(entity, count) for entity, count in counts.most_common(5) if count >= 2]
    if not top:
        return None
    return _finding(
        "top_filers",
        "备案最多：" + "；".join(f"{entity}（{count}）" for entity, count in top),
        "Most filings: " + "; ".join(f"{english_name(entity)} ({count})" for entity, count in top),
        {"filers": [{"entity": entity, "count": count} for entity, count in top]},
    )


def _big_tech(records: Sequence[Mapping[str, Any]]) -> Finding | None:
    groups: dict[str, dict[str, Any]] = {}
    for record in records:
        group = big_tech_group(record.get("entity") or "")
        if group is None:
            continue
        entry = groups.setdefault(group.key, {"group": group.en, "group_zh": group.zh, "count": 0, "entities": []})
        entry["count"] += 1
        if record["entity"] not in entry["entities"]:
            entry["entities"].append(record["entity"])
    if not groups:
        return None
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["group"]))
    return _finding(
        "big_tech",
        "大型科技企业：" + "、".join(f"{g['group_zh']} {g['count']} 条" for g in ordered),
        "Big tech: " + ", ".join(f"{g['group']} {g['count']}" for g in ordered),
        {"groups": ordered},
    )


def _foreign(records: Sequence[Mapping[str, Any]]) -> Finding | None:
    filers: dict[str, dict[str, Any]] = {}
    for record in records:
        entity = record.get("entity") or ""
        filer = foreign_filer(entity)
        if filer is None:
            continue
        entry = filers.setdefault(entity, {"entity": entity, "name_en": filer.en, "count": 0})
        entry["count"] += 1
    if not filers:
        return None
    ordered = sorted(filers.values(), key=lambda f: (-f["count"], f["entity"]))
    return _finding(
        "foreign",
        "外资及外商投资企业：" + "、".join(f"{f['entity']}（{f['count']}）" for f in ordered),
        "Foreign and foreign-invested filers: " + ", ".join(f"{f['name_en']} ({f['count']})" for f in ordered),
        {"filers": ordered},
    )


def _watchlist(records: Sequence[Mapping[str, Any]], watchlist: Watchlist | None) -> Finding | None:
    if not watchlist:
        return None
    hits = []
    for record in records:
        hit = watchlist.match(record.get("entity") or "")
        if hit is not None:
            hits.append(
                {
                    "pattern": hit.pattern,
                    "entity": record.get("entity") or "",
                    "filing_number": record["filing_number"],
                    "name": record.get("name") or "",
                    "score": hit.score,
                }
            )
    if not hits:
        return None
    entities = list(dict.fromkeys(h["entity"] for h in hits))
    return _finding(
        "watchlist",
        f"关注名单命中 {len(hits)} 条：" + "、".join(entities[:10]),
        f"Watchlist: {len(hits)} filing(s) by " + ", ".join(english_name(e) for e in entities[:10]),
        {"hits": hits},
    )


def _cancellations(new: Sequence[Mapping[str, Any]], changed: Sequence[Mapping[str, Any]]) -> Finding | None:
    cancelled = [
        {"filing_number": c["filing_number"], "name": c.get("name", ""), "entity": c.get("entity", "")}
        for c in changed
        if (c["changes"].get("status") or [None, None])[1] == "cancelled"
    ]
    cancelled += [
        {"filing_number": r["filing_number"], "name": r.get("name", ""), "entity": r.get("entity", "")}
        for r in new
        if r.get("status") == "cancelled"
    ]
    if not cancelled:
        return None
    return _finding(
        "cancellations",
        f"注销 {len(cancelled)} 项：" + "、".join(f"{c['name']}（{c['entity']}）" for c in cancelled[:10]),
        f"{len(cancelled)} cancelled: " + "; ".join(f"{c['name']} ({english_name(c['entity'])})" for c in cancelled[:10]),
        {"filings": cancelled},
    )


def _renames(changed: Sequence[Mapping[str, Any]]) -> Finding | None:
    renames = [
        {"filing_number": c["filing_number"], "before": c["changes"]["entity"][0], "after": c["changes"]["entity"][1]}
        for c in changed
        if "entity" in c["changes"]
    ]
    if not renames:
        return None
    return _finding(
        "renames",
        f"主体更名 {len(renames)} 项：" + "；".join(f"{r['before']} → {r['after']}" for r in renames[:10]),
        f"{len(renames)} renamed filer(s): "
        + "; ".join(f"{english_name(r['before'])} → {english_name(r['after'])}" for r in renames[:10]),
        {"renames": renames},
    )


def _provinces(records: Sequence[Mapping[str, Any]]) -> Finding | None:
    from bot.companies import province_en

    counts = Counter(r.get("province") for r in records if r.get("province"))
    if not counts:
        return None
    top = counts.most_common(5)
    return _finding(
        "provinces",
        "地区分布：" + "、".join(f"{p} {n}" for p, n in top),
        "By province: " + ", ".join(f"{province_en(p)} {n}" for p, n in top),
        {"provinces": [{"province": p, "count": n} for p, n in top]},
    )


def findings_for_list(
    *,
    kind: str,
    list_month: str,
    rows: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    changed: Sequence[Mapping[str, Any]],
    sizes: Sequence[tuple[str, int]],
    watchlist: Watchlist | None = None,
) -> list[Finding]:
    """Findings for one published or revised list, in reading order; empty ones left out."""
    subject = new if new else rows  # a revised list without new filings: describe the list
    watched = list(new) + [{**c, "filing_number": c["filing_number"]} for c in changed if c.get("entity")]
    candidates = [
        _rank(kind, list_month, len(rows), sizes),
        _size_change(list_month, len(rows), sizes),
        _top_filers(subject),
        _big_tech(subject),
        _foreign(subject),
        _watchlist(watched, watchlist),
        _cancellations(new, changed),
        _renames(changed),
        _provinces(new),
    ]
    return [finding for finding in candidates if finding is not None]


def findings_for_baseline(
    by_kind: Mapping[str, Mapping[str, int]], entities: Sequence[tuple[str, str]]
) -> list[Finding]:
    """The first poll's summary: totals per kind, top filers and big tech over everything stored."""
    totals = [
        _finding(
            "totals",
            "、".join(f"{KIND_NAMES.get(k, (k, k))[0]} {v['lists']} 批 {v['filings']} 条" for k, v in by_kind.items()),
            ", ".join(f"{KIND_NAMES.get(k, (k, k))[1]}: {v['filings']:,} filings in {v['lists']} lists" for k, v in by_kind.items()),
            {"by_kind": {k: dict(v) for k, v in by_kind.items()}},
        )
    ]
    records = [{"entity": entity, "kind": kind} for kind, entity in entities]
    extra = [_top_filers(records), _big_tech(records)]
    return totals + [finding for finding in extra if finding is not None]
