"""Notable findings: what makes a list worth reading, as structured data with zh and en text.

Pure functions over plain records (``bot.changes.event_schema`` shapes); no database, no clock. Each
finding is ``{"type", "zh", "en", "data"}``: one plain-text sentence per language (no HTML:
the notifiers escape) and ``data`` exactly as event_schema documents it for that type.

``findings_for_list`` tells, in this order and only when there is something to tell: rank
among the lists of the kind, change against the previous list, top filers, big-tech groups,
foreign filers, watchlist hits, cancellations, renames and provinces.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from bot.changes.companies import BigTechGroup as CompanyGroup
from bot.changes.companies import (
    KIND_NAMES,
    big_tech_group,
    chinese_number,
    english_name,
    foreign_filer,
    ordinal_en,
    province_en,
    reading_order,
)
from bot.changes.event_schema import (
    BigTechFinding,
    BigTechGroup,
    CancellationsFinding,
    CancelledFiling,
    ChangedFiling,
    FilingRecord,
    Finding,
    ForeignFiler,
    GenaiTotals,
    ForeignFinding,
    ProvincesFinding,
    RankFinding,
    Rename,
    RenamesFinding,
    SizeChangeFinding,
    TopFilersFinding,
    TotalsFinding,
    TotalsMismatchFinding,
    WatchHit,
    WatchlistFinding,
)
from bot.changes.watchlist import FilingHit, Watchlist, hits_in

__all__ = [
    "findings_for_list",
    "findings_for_baseline",
    "cancelled_filings",
    "renamed_filings",
    "totals_mismatch",
    "rank_of",
    "ordinal_largest",
    "TOP_N",
]

TOP_N: Final = 5  # filers, provinces… named in one sentence
_LISTED: Final = 3  # cancellations and renames named before "and N more"
_NAME_LIMIT: Final = 60

_ORDINAL_WORDS: Final = {
    2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth", 9: "ninth", 10: "tenth",
}
_MONTHS_EN: Final = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                     "October", "November", "December")
_COUNTRY_ZH: Final = {
    "United States": "美国", "Japan": "日本", "South Korea": "韩国", "Germany": "德国", "France": "法国",
    "United Kingdom": "英国", "Netherlands": "荷兰", "Switzerland": "瑞士", "Sweden": "瑞典", "Ireland": "爱尔兰",
    "Denmark": "丹麦", "Finland": "芬兰", "Spain": "西班牙",
}


# --- wording ----------------------------------------------------------------------------------


def _kind_words(kind: str) -> tuple[str, str, str, str]:
    """(this list, measure word, zh noun, en plural noun): deep synthesis comes in batches (批)."""
    if kind == "deep_synthesis":
        return ("本批", "批", "深度合成备案", "deep-synthesis lists")
    if kind == "algorithm_recommendation":
        return ("本清单", "份", "算法推荐备案清单", "recommendation-algorithm lists")
    if kind == "genai_service":
        return ("本清单", "份", "生成式人工智能服务备案清单", "generative-AI service lists")
    zh, en = KIND_NAMES.get(kind, (kind, kind.replace("_", " ")))
    return ("本清单", "份", f"{zh}清单", f"{en} lists")


def _previous_words(kind: str) -> str:
    return "上一批" if kind == "deep_synthesis" else "上一份清单"


def _month(list_month: str | None) -> tuple[str, str]:
    """2026-03 → (2026年3月, March 2026); anything else as written."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", list_month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return (str(list_month or ""), str(list_month or ""))
    return (f"{match.group(1)}年{int(match.group(2))}月", f"{_MONTHS_EN[int(match.group(2)) - 1]} {match.group(1)}")


def _clip(text: Any, limit: int = _NAME_LIMIT) -> str:
    """Site-controlled text inside a sentence: one line, bounded (escaping is the notifier's job)."""
    one_line = re.sub(r"[\s\x00-\x1f\x7f\u2028\u2029]+", " ", str(text or "")).strip()
    return one_line if len(one_line) <= limit else one_line[: limit - 1].rstrip() + "…"


def _en(entity: str) -> str:
    # English names run longer than Chinese ones (…Artificial Intelligence Basic Technology Research…).
    return _clip(english_name(entity) or entity, 2 * _NAME_LIMIT)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _more_zh(rest: int) -> str:
    return f"等 {rest + _LISTED} 项" if rest > 0 else ""


def _more_en(rest: int) -> str:
    return f", and {rest:,} more" if rest > 0 else ""


def rank_of(size: int, sizes: Iterable[int]) -> int:
    """1 + the number of lists strictly larger: ties share a rank."""
    return 1 + sum(1 for other in sizes if other > size)


def ordinal_largest(rank: int, of: int, *, tied: bool = False, smallest: bool = False) -> str:
    """"the largest", "the second-largest", "the 12th-largest", "the smallest", "joint third-largest"."""
    lead = "joint " if tied else "the "
    if rank == 1:
        return lead + "largest"
    if smallest or (rank == of and of > 2):
        return lead + "smallest"
    word = _ORDINAL_WORDS.get(rank) or ordinal_en(rank)
    return f"{lead}{word}-largest"


def _rank_zh(rank: int, *, tied: bool, smallest: bool) -> str:
    joint = "并列" if tied else ""
    if rank == 1:
        return f"规模{joint}最大"
    if smallest:
        return f"规模{joint}最小"
    return f"规模{joint}第{chinese_number(rank)}"


# --- the list's size --------------------------------------------------------------------------


def _others(list_month: str, size: int, sizes: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The other lists of the kind: ``sizes`` includes this one once; drop it (by month and size)."""
    others = [(str(month), int(count)) for month, count in sizes]
    index = next((i for i, entry in enumerate(others) if entry == (list_month, size)), None)
    if index is None:
        # Its count there is out of date: drop one list of the same month instead.
        index = next((i for i, (month, _) in enumerate(others) if month == list_month), None)
    if index is not None:
        del others[index]
    return others


def _rank(kind: str, size: int, others: Sequence[tuple[str, int]]) -> RankFinding | None:
    of = len(others) + 1
    if of < 2:
        return None  # the first list of its kind: nothing to rank against
    rank = rank_of(size, (count for _, count in others))
    tied = any(count == size for _, count in others)
    smallest = of > 2 and rank > 1 and not any(count < size for _, count in others)
    this, measure, zh_noun, en_noun = _kind_words(kind)
    return {
        "type": "rank",
        "zh": f"{this} {size:,} 条，在 {of} {measure}{zh_noun}中{_rank_zh(rank, tied=tied, smallest=smallest)}",
        "en": f"{_plural(size, 'filing')} — {ordinal_largest(rank, of, tied=tied, smallest=smallest)} of {of} {en_noun}",
        "data": {"size": size, "rank": rank, "of": of, "kind": kind},
    }


def _size_change(kind: str, list_month: str, size: int, others: Sequence[tuple[str, int]]) -> SizeChangeFinding | None:
    earlier = [(month, count) for month, count in others if month < list_month]
    if not earlier:
        return None
    latest = max(month for month, _ in earlier)
    previous = [count for month, count in earlier if month == latest][-1]
    delta = size - previous
    zh_month, en_month = _month(latest)
    before = _previous_words(kind)
    percent = f"{delta / previous * 100:+.1f}%" if previous else ""
    if delta == 0:
        zh = f"与{before}（{zh_month}，{previous:,} 条）持平"
        en = f"The same size as the previous list ({en_month}: {previous:,})"
    else:
        more = "增加" if delta > 0 else "减少"
        zh = f"较{before}（{zh_month}，{previous:,} 条）{more} {abs(delta):,} 条" + (f"（{percent}）" if percent else "")
        en = (f"{'+' if delta > 0 else '-'}{_plural(abs(delta), 'filing')}" + (f" ({percent})" if percent else "")
              + f" against the previous list ({en_month}: {previous:,})")
    return {
        "type": "size_change",
        "zh": zh,
        "en": en,
        "data": {"previous": previous, "delta": delta, "previous_list_month": latest},
    }


# --- who filed --------------------------------------------------------------------------------


def _entities(records: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(r.get("entity") or "").strip() for r in records if str(r.get("entity") or "").strip()]


def _top(counts: Counter[str], n: int = TOP_N, minimum: int = 2) -> list[tuple[str, int]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(key, count) for key, count in ranked[:n] if count >= minimum]


def _top_filers(entities: Sequence[str], scope: str) -> TopFilersFinding | None:
    top = _top(Counter(entities))
    if not top:
        return None
    zh_scope, en_scope = {
        "new": ("新增备案最多的主体", "Most new filings"),
        "list": ("本清单备案最多的主体", "Most filings in this list"),
        "all": ("备案最多的主体", "Most filings overall"),
    }[scope]
    return {
        "type": "top_filers",
        "zh": f"{zh_scope}：" + "、".join(f"{_clip(e)}（{c} 项）" for e, c in top),
        "en": f"{en_scope}: " + "; ".join(f"{_en(e)} ({c})" for e, c in top),
        "data": {"filers": [{"entity": e, "count": c} for e, c in top]},
    }


def _big_tech(entities: Sequence[str], scope: str) -> BigTechFinding | None:
    groups: dict[str, BigTechGroup] = {}
    found: dict[str, CompanyGroup] = {}  # group name → the group, for its place in the order
    for entity in entities:
        group = big_tech_group(entity)
        if group is None:
            continue
        entry = groups.setdefault(group.key, {"group": group.en, "group_zh": group.zh, "count": 0, "entities": []})
        found[group.en] = group
        entry["count"] += 1
        if entity not in entry["entities"]:
            entry["entities"].append(entity)
    if not groups:
        return None
    # The groups readers follow lead, in their order of prominence, and are never cut; the rest
    # (state-owned carriers, NetEase …) follow by count and fill what room is left.
    ordered = sorted(groups.values(), key=lambda g: (*reading_order(found[g["group"]], g["count"]), g["group"]))
    leading = [g for g in ordered if found[g["group"]].leading]
    others = [g for g in ordered if not found[g["group"]].leading]
    zh_scope, en_scope = {
        "new": ("新增备案中的大型科技集团", "Big tech among the new filings"),
        "list": ("本清单中的大型科技集团", "Big tech in this list"),
        "all": ("大型科技集团备案", "Big tech filings"),
    }[scope]
    shown = leading + others[: max(0, 2 * TOP_N - len(leading))]
    rest = len(ordered) - len(shown)
    return {
        "type": "big_tech",
        "zh": f"{zh_scope}：" + "、".join(f"{g['group_zh']} {g['count']} 项" for g in shown)
        + (f"等 {len(ordered)} 家" if rest > 0 else ""),
        "en": f"{en_scope}: " + ", ".join(f"{g['group']} {g['count']}" for g in shown) + _more_en(rest),
        "data": {"groups": ordered},
    }


def _foreign(entities: Sequence[str], scope: str) -> ForeignFinding | None:
    counts: Counter[str] = Counter(e for e in entities if foreign_filer(e) is not None)
    if not counts:
        return None
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    filers: list[ForeignFiler] = [{"entity": e, "name_en": english_name(e) or e, "count": c} for e, c in ordered]
    shown, rest = ordered[:TOP_N], len(ordered) - TOP_N
    zh_scope, en_scope = {
        "new": ("新增备案中的外国及外商投资企业", "Foreign and foreign-invested filers among the new filings"),
        "list": ("本清单中的外国及外商投资企业", "Foreign and foreign-invested filers in this list"),
        "all": ("外国及外商投资企业", "Foreign and foreign-invested filers"),
    }[scope]
    zh_parts, en_parts = [], []
    for entity, count in shown:
        filer = foreign_filer(entity)
        assert filer is not None  # counted above
        country_zh = _COUNTRY_ZH.get(filer.country, filer.country)
        zh_parts.append(f"{_clip(entity)}（{filer.zh}，{country_zh}）{count} 项")
        en_parts.append(f"{_en(entity)} ({filer.en}, {filer.country}): {count}")
    return {
        "type": "foreign",
        "zh": f"{zh_scope}：" + "、".join(zh_parts) + (f"等 {len(ordered)} 家" if rest > 0 else ""),
        "en": f"{en_scope}: " + "; ".join(en_parts) + _more_en(rest),
        "data": {"filers": filers},
    }


# --- what changed -----------------------------------------------------------------------------


def _pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, (list, tuple)):
        padded = list(value) + [None, None]
        return padded[0], padded[1]
    return None, value


def _changed_entity(change: Mapping[str, Any]) -> str:
    entity = change.get("entity")
    if not entity:
        entity = _pair((change.get("changes") or {}).get("entity"))[1]
    return str(entity or "")


def _changed_name(change: Mapping[str, Any]) -> str:
    name = change.get("name")
    if not name:
        name = _pair((change.get("changes") or {}).get("name"))[1]
    return str(name or "")


def _watchlist(
    new: Sequence[FilingRecord], changed: Sequence[ChangedFiling], watchlist: Watchlist | None
) -> WatchlistFinding | None:
    if not watchlist:
        return None
    # One hit per filing: its best pattern (the first given on a tie), under the name that matched.
    best: dict[str, FilingHit] = {}
    for hit in hits_in(watchlist, new=new, changed=changed):
        number = hit.filing_number
        if number not in best or hit.score > best[number].score:
            best[number] = hit
    hits: list[WatchHit] = [
        {"pattern": h.pattern, "entity": h.matched, "filing_number": n,
         "name": h.name or (_changed_name(h.record) if h.change == "changed" else ""), "score": float(h.score)}
        for n, h in best.items()
    ]
    if not hits:
        return None
    by_pattern: dict[str, list[str]] = {}
    for entry in hits:
        by_pattern.setdefault(entry["pattern"], []).append(entry["entity"])
    zh_parts, en_parts = [], []
    for pattern, entities in by_pattern.items():
        distinct = list(dict.fromkeys(entities))
        zh_parts.append(f"“{_clip(pattern, 40)}” {len(entities)} 项（{'、'.join(_clip(e) for e in distinct[:2])}"
                        + ("等" if len(distinct) > 2 else "") + "）")
        en_parts.append(f"“{_clip(pattern, 40)}” {len(entities)} ({', '.join(_en(e) for e in distinct[:2])}"
                        + (", …" if len(distinct) > 2 else "") + ")")
    return {
        "type": "watchlist",
        "zh": f"关注名单命中 {len(hits)} 项备案：" + "；".join(zh_parts),
        "en": f"Watchlist: {_plural(len(hits), 'filing')} matched — " + "; ".join(en_parts),
        "data": {"hits": hits},
    }


def cancelled_filings(new: Sequence[Mapping[str, Any]], changed: Sequence[Mapping[str, Any]]) -> list[CancelledFiling]:
    """The filings a list event reports cancelled: changed to ``cancelled``, or new and already
    cancelled (已注销 in a list seen for the first time). One entry per filing number; the
    payload's ``counts.cancelled`` and the 注销 N 项 finding both count these."""
    filings: list[CancelledFiling] = []
    seen: set[str] = set()
    for change in changed:
        before, after = _pair((change.get("changes") or {}).get("status"))
        number = str(change.get("filing_number") or "")
        if after == "cancelled" and before != "cancelled" and number not in seen:
            seen.add(number)
            filings.append({"filing_number": number, "name": _changed_name(change), "entity": _changed_entity(change)})
    for record in new:
        number = str(record.get("filing_number") or "")
        if record.get("status") == "cancelled" and number not in seen:
            seen.add(number)
            filings.append({"filing_number": number, "name": str(record.get("name") or ""),
                            "entity": str(record.get("entity") or "")})
    return filings


def renamed_filings(changed: Sequence[Mapping[str, Any]]) -> list[Rename]:
    """The changed filings whose filer name changed (``counts.renamed`` and the renames finding)."""
    renames: list[Rename] = []
    for change in changed:
        before, after = _pair((change.get("changes") or {}).get("entity"))
        if before is None and after is None:
            continue
        renames.append({"filing_number": str(change.get("filing_number") or ""), "before": str(before or ""),
                        "after": str(after or "")})
    return renames


def _cancellations(new: Sequence[Mapping[str, Any]], changed: Sequence[Mapping[str, Any]]) -> CancellationsFinding | None:
    filings = cancelled_filings(new, changed)
    if not filings:
        return None
    shown, rest = filings[:_LISTED], len(filings) - _LISTED

    def zh(f: CancelledFiling) -> str:
        return _clip(f["name"] or f["filing_number"]) + (f"（{_clip(f['entity'])}）" if f["entity"] else "")

    def en(f: CancelledFiling) -> str:
        return _clip(f["name"] or f["filing_number"]) + (f" ({_en(f['entity'])})" if f["entity"] else "")

    return {
        "type": "cancellations",
        "zh": f"注销 {len(filings)} 项：" + "、".join(zh(f) for f in shown) + _more_zh(rest),
        "en": f"{_plural(len(filings), 'filing')} cancelled: " + "; ".join(en(f) for f in shown) + _more_en(rest),
        "data": {"filings": filings},
    }


def _renames(changed: Sequence[Mapping[str, Any]]) -> RenamesFinding | None:
    renames = renamed_filings(changed)
    if not renames:
        return None
    pairs = list(dict.fromkeys((r["before"], r["after"]) for r in renames))
    shown, rest = pairs[:_LISTED], len(pairs) - _LISTED
    return {
        "type": "renames",
        "zh": f"{len(renames)} 项备案主体更名：" + "；".join(f"{_clip(b)} → {_clip(a)}" for b, a in shown)
        + (f"等 {len(pairs)} 家" if rest > 0 else ""),
        "en": f"{_plural(len(renames), 'filing')} with a renamed filer: "
        + "; ".join(f"{_en(b)} → {_en(a)}" for b, a in shown) + _more_en(rest),
        "data": {"renames": renames},
    }


def _province(record: Mapping[str, Any]) -> str:
    province = record.get("province")
    if not province:
        # Old rows may lack 属地; the filing number's region code tells it.
        from scrapers.normalize import province_from_number, province_from_pinyin

        number = str(record.get("filing_number") or "")
        province = province_from_number(number) or province_from_pinyin(number)
    return str(province or "")


def _provinces(new: Sequence[Mapping[str, Any]]) -> ProvincesFinding | None:
    counts = Counter(p for p in (_province(r) for r in new) if p)
    if not counts:
        return None
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown, rest = ordered[:TOP_N], len(ordered) - TOP_N
    return {
        "type": "provinces",
        "zh": "新增备案属地：" + "、".join(f"{_clip(p)} {c} 项" for p, c in shown)
        + (f"等 {len(ordered)} 个省份" if rest > 0 else ""),
        "en": "New filings by province: " + ", ".join(f"{_clip(province_en(p) or p)} {c}" for p, c in shown)
        + (f", and {rest} more" if rest > 0 else ""),
        "data": {"provinces": [{"province": p, "count": c} for p, c in ordered]},
    }


# --- entry points -----------------------------------------------------------------------------


def _differences(totals: GenaiTotals) -> tuple[list[str], list[str]]:
    """The differences held − stated, as zh and en phrases (only what was stated is compared)."""
    zh: list[str] = []
    en: list[str] = []
    pairs = [("filed", "备案", totals["stated"]["filed"], totals["held"]["filed"])]
    if totals["stated"]["registered"] is not None:
        pairs.append(("registered", "登记", totals["stated"]["registered"], totals["held"]["registered"]))
    for word_en, word_zh, stated, held in pairs:
        if held == stated:
            continue
        delta = held - stated
        zh.append(f"{word_zh}{'多' if delta > 0 else '少'}{abs(delta)}款")
        en.append(f"{abs(delta)} {word_en} {'more' if delta > 0 else 'fewer'}")
    return zh, en


def totals_mismatch(totals: GenaiTotals) -> TotalsMismatchFinding | None:
    """What cacwatch holds differs from the totals CAC states (a lost or invented row)."""
    diff_zh, diff_en = _differences(totals)
    if not diff_zh:
        return None
    stated, held, as_of = totals["stated"], totals["held"], totals["as_of"]
    y, m, d = (int(part) for part in as_of.split("-"))
    if stated["registered"] is None:
        stated_zh = f"截至{y}年{m}月{d}日共有{stated['filed']}款完成备案"
        stated_en = f"{stated['filed']} filed as of {as_of}"
        held_zh = f"cacwatch 掌握{held['filed']}款备案"
        held_en = f"cacwatch holds {held['filed']} filed"
    else:
        stated_zh = f"截至{y}年{m}月{d}日共有{stated['filed']}款完成备案、{stated['registered']}款完成登记"
        stated_en = f"{stated['filed']} filed and {stated['registered']} registered as of {as_of}"
        held_zh = f"cacwatch 掌握{held['filed']}款备案、{held['registered']}款登记"
        held_en = f"cacwatch holds {held['filed']} filed and {held['registered']} registered"
    return {
        "type": "totals_mismatch",
        "zh": f"总数核对不符：网信办公告{stated_zh}，{held_zh}（{'，'.join(diff_zh)}）。",
        "en": f"Totals do not reconcile: CAC states {stated_en}; {held_en} ({', '.join(diff_en)}).",
        "data": {"totals": totals},
    }


def findings_for_list(
    *,
    kind: str,
    list_month: str,
    rows: Sequence[Mapping[str, Any]],
    new: Sequence[FilingRecord],
    changed: Sequence[ChangedFiling],
    sizes: Sequence[tuple[str, int]],
    watchlist: Watchlist | None = None,
) -> list[Finding]:
    """The findings of one published or revised list.

    ``rows``: the list's current rows; ``new``: filings never seen before in the kind;
    ``changed``: ChangedFiling dicts; ``sizes``: (list_month, rows) of every list of the kind,
    this one included, cancellation notices excluded. Who filed (top filers, big tech, foreign)
    is told for the new filings, or for the whole list when there are none (a revised list, a
    summary list of repeats).
    """
    size = len(rows)
    others = _others(list_month, size, sizes)
    subject, scope = (new, "new") if new else (rows, "list")
    entities = _entities(subject)
    candidates = [
        _rank(kind, size, others),
        _size_change(kind, list_month, size, others),
        _top_filers(entities, scope),
        _big_tech(entities, scope),
        _foreign(entities, scope),
        _watchlist(new, changed, watchlist),
        _cancellations(new, changed),
        _renames(changed),
        _provinces(new),
    ]
    return [finding for finding in candidates if finding is not None]


def _baseline_entities(entities: Iterable[Any] | Mapping[str, Iterable[Any]]) -> list[str]:
    """(kind, entity) pairs, or {kind: [entity or record, …]}: just the entity names."""
    if isinstance(entities, Mapping):
        items: Iterable[Any] = (item for values in entities.values() for item in values)
    else:
        items = (pair[1] if isinstance(pair, (list, tuple)) and len(pair) == 2 else pair for pair in entities)
    names = []
    for item in items:
        name = item.get("entity") if isinstance(item, Mapping) else item
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return names


def findings_for_baseline(
    by_kind: Mapping[str, Mapping[str, int]],
    entities: Iterable[Any] | Mapping[str, Iterable[Any]] = (),
) -> list[Finding]:
    """The first poll's summary: totals per kind, then top filers, big tech and foreign filers
    over every filing stored (``entities``: (kind, entity) pairs or {kind: entities})."""
    findings: list[Finding] = []
    if by_kind:
        zh_parts, en_parts = [], []
        for kind, totals in by_kind.items():
            zh_kind, en_kind = KIND_NAMES.get(kind, (kind, kind.replace("_", " ")))
            measure = _kind_words(kind)[1]
            lists, filings = int(totals.get("lists") or 0), int(totals.get("filings") or 0)
            cancelled = int(totals.get("cancelled") or 0)
            zh_parts.append(f"{zh_kind} {lists} {measure} {filings:,} 项" + (f"（已注销 {cancelled:,}）" if cancelled else ""))
            en_parts.append(f"{en_kind}: {_plural(filings, 'filing')} in {_plural(lists, 'list')}"
                            + (f" ({cancelled:,} cancelled)" if cancelled else ""))
        totals_finding: TotalsFinding = {
            "type": "totals",
            "zh": "已记录：" + "；".join(zh_parts),
            "en": "On record: " + "; ".join(en_parts),
            "data": {
                "by_kind": {
                    k: {
                        "lists": int(v.get("lists") or 0),
                        "filings": int(v.get("filings") or 0),
                        "cancelled": int(v.get("cancelled") or 0),
                    }
                    for k, v in by_kind.items()
                }
            },
        }
        findings.append(totals_finding)
    names = _baseline_entities(entities)
    for finding in (_top_filers(names, "all"), _big_tech(names, "all"), _foreign(names, "all")):
        if finding is not None:
            findings.append(finding)
    return findings
