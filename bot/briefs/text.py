"""The words of a brief, in Chinese or English, from its facts (plain text; renderers escape).

One ``BriefText`` per language: a title, a dateline, sections of sentences and the table of
notable filings. Every number in it is a field of ``BriefFacts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from bot.briefs.facts import BriefFacts, Count, GroupEntry
from bot.changes.companies import chinese_number, english_name
from bot.changes.vocabulary import kind_names, published_label

__all__ = ["BriefText", "Section", "NotableRow", "brief_text", "month_words", "TABLE_HEADERS"]

_MONTHS_EN: Final = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                     "October", "November", "December")
_ORDINALS: Final = {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh", 8: "eighth",
                    9: "ninth", 10: "tenth"}
_LISTED: Final = 5  # cancellations and renames named one by one
_PURPOSE: Final = 140  # characters of a purpose in a table cell

TABLE_HEADERS: Final = {
    "zh": ("集团/公司", "主体", "产品", "主要用途", "备案编号"),
    "en": ("Group", "Filer", "Product", "What it is used for", "Filing number"),
}


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    sentences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotableRow:
    group: str
    filer: str
    product: str
    purpose: str
    filing_number: str


@dataclass(frozen=True, slots=True)
class BriefText:
    lang: str
    title: str
    dateline: str
    lead: str
    sections: tuple[Section, ...]
    table_title: str
    table: tuple[NotableRow, ...]
    sources_title: str
    sources: tuple[tuple[str, str], ...] = field(default=())  # (label, URL)
    chart_caption: str = ""


def month_words(month: str, lang: str) -> str:
    year, mon = month[:4], int(month[5:7])
    return f"{year}年{mon}月" if lang == "zh" else f"{_MONTHS_EN[mon - 1]} {year}"


def _period_words(facts: BriefFacts, lang: str) -> str:
    if facts.period in ("list", "month"):
        return month_words(facts.first_month, lang)
    if facts.period == "quarter":
        quarter = (int(facts.first_month[5:7]) - 1) // 3 + 1
        return f"{facts.first_month[:4]}年第{chinese_number(quarter)}季度" if lang == "zh" else f"Q{quarter} {facts.first_month[:4]}"
    return f"{facts.first_month[:4]}年" if lang == "zh" else facts.first_month[:4]


def _ordinal_en(rank: int, of: int) -> str:
    if rank == 1:
        return "the largest"
    if rank == of and of > 2:
        return "the smallest"
    word = _ORDINALS.get(rank) or f"{rank}th"
    return f"the {word}-largest"


def _rank_zh(rank: int, of: int) -> str:
    if rank == 1:
        return "规模最大"
    if rank == of and of > 2:
        return "规模最小"
    return f"规模第{chinese_number(rank)}"


def _counts(items: tuple[Count, ...], lang: str) -> str:
    if lang == "zh":
        return "、".join(f"{c.zh} {c.count:,} 项" for c in items)
    return ", ".join(f"{c.count:,} {c.en}" for c in items)


def _group_name(group: GroupEntry, lang: str) -> str:
    return group.zh if lang == "zh" else group.en


def _lead(facts: BriefFacts, lang: str) -> str:
    zh_kind, en_kind = kind_names("sentence")[facts.kind]
    when = _period_words(facts, lang)
    measure = "批" if facts.kind == "deep_synthesis" else "份"
    if facts.period == "list":
        assert facts.rank_so_far is not None and facts.rank is not None
        if lang == "zh":
            text = f"{when}{zh_kind}备案清单共 {facts.size:,} 项"
            if facts.of_so_far > 1:
                text += f"，在截至本清单已发布的 {facts.of_so_far} {measure}中{_rank_zh(facts.rank_so_far, facts.of_so_far)}"
            if facts.largest_before is not None and facts.rank_so_far > 1:
                text += f"（此前最大为{month_words(facts.largest_before.list_month, 'zh')}的 {facts.largest_before.rows:,} 项）"
            if facts.of > facts.of_so_far:
                text += f"；在目前全部 {facts.of} {measure}中{_rank_zh(facts.rank, facts.of)}"
            return text + "。"
        text = f"The {when} list of {en_kind} holds {facts.size:,} filings"
        if facts.of_so_far > 1:
            text += f" — {_ordinal_en(facts.rank_so_far, facts.of_so_far)} of {facts.of_so_far} lists so far"
        if facts.largest_before is not None and facts.rank_so_far > 1:
            text += (f" (the largest before it: {facts.largest_before.rows:,} in "
                     f"{month_words(facts.largest_before.list_month, 'en')})")
        if facts.of > facts.of_so_far:
            text += f"; {_ordinal_en(facts.rank, facts.of)} of all {facts.of} lists to date"
        return text + "."
    lists = len(facts.sources)
    if lang == "zh":
        return f"{when}共发布{zh_kind}备案清单 {lists} {measure}，合计 {facts.size:,} 项。"
    return f"In {when}, {lists} list{'s' if lists != 1 else ''} of {en_kind} appeared, {facts.size:,} filings in all."


def _sections(facts: BriefFacts, lang: str) -> list[Section]:
    zh = lang == "zh"
    sections: list[Section] = []

    what = []
    if zh:
        what.append(f"涉及备案 {facts.filings:,} 项，其中首次公布 {facts.new:,} 项。")
        if facts.breakdown:
            what.append(("按角色：" if facts.kind == "deep_synthesis" else "按算法类别：" if facts.kind == "algorithm_recommendation"
                         else "按备案/登记：") + _counts(facts.breakdown, lang) + "。")
        if facts.provinces:
            what.append("主要属地：" + "、".join(f"{p.zh} {p.count:,} 项" for p in facts.provinces) + "。")
    else:
        what.append(f"{facts.filings:,} distinct filings, {facts.new:,} of them listed for the first time.")
        if facts.breakdown:
            what.append(("By role: " if facts.kind == "deep_synthesis" else "By algorithm category: "
                         if facts.kind == "algorithm_recommendation" else "Filed and registered: ")
                        + _counts(facts.breakdown, lang) + ".")
        if facts.provinces:
            what.append("Main provinces: " + ", ".join(f"{p.en} {p.count:,}" for p in facts.provinces) + ".")
    sections.append(Section("备案概况" if zh else "What was filed", tuple(what)))

    if facts.earlier or facts.period != "list":
        sizes = facts.earlier if facts.period == "list" else tuple(s for s in facts.series if s.subject)
        if zh:
            label = "此前各清单规模：" if facts.period == "list" else "本期各清单规模："
            line = label + "、".join(f"{month_words(s.list_month, 'zh')} {s.rows:,} 项" for s in sizes) + "。"
        else:
            label = "Earlier lists: " if facts.period == "list" else "Lists in the period: "
            line = label + "; ".join(f"{month_words(s.list_month, 'en')}: {s.rows:,}" for s in sizes) + "."
        sections.append(Section("规模对比" if zh else "Size against earlier lists", (line,)))

    who = []
    if facts.big_tech:
        groups = ("、" if zh else ", ").join(f"{_group_name(g, lang)} {g.count:,}" + (" 项" if zh else "")
                                             for g in facts.big_tech)
        who.append(("大型科技集团：" if zh else "Big tech: ") + groups + ("。" if zh else "."))
    if facts.foreign:
        parts = []
        for f in facts.foreign:
            filers = ("、" if zh else "; ").join(f.entities if zh else tuple(english_name(e) or e for e in f.entities))
            parts.append(f"{f.zh}（{filers}）{f.count:,} 项" if zh else f"{f.en} ({filers}, {f.country}): {f.count:,}")
        who.append(("外国及外商投资企业：" if zh else "Foreign and foreign-invested filers: ")
                   + ("；" if zh else "; ").join(parts) + ("。" if zh else "."))
    if not who:
        who.append("未见大型科技集团或外国企业。" if zh else "No big-tech group or foreign company among them.")
    sections.append(Section("主要备案主体" if zh else "Who filed", tuple(who)))

    changes = []
    if facts.cancellations:
        named = ("、" if zh else "; ").join(c.name or c.filing_number for c in facts.cancellations[:_LISTED])
        more = len(facts.cancellations) - _LISTED
        changes.append(f"已注销 {len(facts.cancellations):,} 项：{named}" + (f"等" if more > 0 else "") + "。" if zh else
                       f"{len(facts.cancellations):,} cancelled: {named}" + (f", and {more} more" if more > 0 else "") + ".")
    if facts.renames:
        # One line per distinct (before, after): a filer renamed once shows once, however many filings.
        pairs = list(dict.fromkeys((r.before, r.after) for r in facts.renames))
        if not zh:
            pairs = [(english_name(b) or b, english_name(a) or a) for b, a in pairs]
        named = ("；" if zh else "; ").join(f"{b} → {a}" for b, a in pairs[:_LISTED])
        more = len(pairs) - _LISTED
        changes.append(f"主体更名涉及备案 {len(facts.renames):,} 项：{named}" + ("等" if more > 0 else "") + "。" if zh else
                       f"{len(facts.renames):,} filings with a renamed filer: {named}"
                       + (f", and {more} more" if more > 0 else "") + ".")
    if not changes:
        changes.append("无注销或更名。" if zh else "No cancellation or rename.")
    sections.append(Section("注销与更名" if zh else "Cancellations and renames", tuple(changes)))

    totals = facts.totals
    upto = month_words(facts.last_month, lang)
    lines = [
        f"截至{upto}清单，累计备案 {totals.filings:,} 项（有效 {totals.active:,} 项，已注销 {totals.cancelled:,} 项）。" if zh else
        f"To date (lists up to {upto}): {totals.filings:,} filings, {totals.active:,} active and {totals.cancelled:,} cancelled."
    ]
    if facts.kind == "genai_service":
        filed, registered = totals.by_registration.get("filed", 0), totals.by_registration.get("registered", 0)
        lines.append(f"其中有效备案 {filed:,} 项、登记 {registered:,} 项。" if zh else
                     f"Active: {filed:,} filed and {registered:,} registered.")
        stated = facts.stated
        if stated is None:
            lines.append("未存有国家网信办就本清单公布的累计数，无从核对。" if zh else
                         "No cumulative total stated by CAC is stored for this list: nothing to reconcile with.")
        else:
            reg_zh = f"、登记 {stated.stated_registered:,} 款" if stated.stated_registered is not None else ""
            reg_en = f" and {stated.stated_registered:,} registered" if stated.stated_registered is not None else ""
            verdict_zh = "一致" if stated.reconciles else f"不一致（本库：备案 {stated.held_filed:,}、登记 {stated.held_registered:,}）"
            verdict_en = "they reconcile" if stated.reconciles else (
                f"they differ (held: {stated.held_filed:,} filed, {stated.held_registered:,} registered)")
            lines.append(f"国家网信办公布截至{stated.as_of}共备案 {stated.stated_filed:,} 款{reg_zh}，与本库{verdict_zh}。" if zh else
                         f"CAC stated {stated.stated_filed:,} filed{reg_en} as of {stated.as_of}: {verdict_en}.")
    sections.append(Section("累计" if zh else "Totals to date", tuple(lines)))
    return sections


def _table(facts: BriefFacts, lang: str) -> tuple[NotableRow, ...]:
    rows = []
    for group in facts.big_tech + facts.foreign:
        for example in group.examples:
            purpose = example.purpose if len(example.purpose) <= _PURPOSE else example.purpose[: _PURPOSE - 1] + "…"
            rows.append(NotableRow(_group_name(group, lang), example.entity if lang == "zh" else example.entity_en,
                                   example.product, purpose, example.filing_number))
    return tuple(rows)


def brief_text(facts: BriefFacts, lang: str, today: str) -> BriefText:
    zh = lang == "zh"
    zh_kind, en_kind = kind_names("series")[facts.kind]
    when = _period_words(facts, lang)
    period_zh = {"list": "清单", "month": "月度", "quarter": "季度", "year": "年度"}[facts.period]
    period_en = {"list": "list", "month": "monthly", "quarter": "quarterly", "year": "annual"}[facts.period]
    title = f"{zh_kind}备案{period_zh}简报：{when}" if zh else f"{en_kind}: {period_en} brief, {when}"
    sources: list[tuple[str, str]] = []
    for source in facts.sources:
        label = source.name or source.title or source.list_month
        if source.page_url:
            sources.append(((f"{label}（公告页面）" if zh else f"{label} (CAC announcement)"), source.page_url))
        if source.attachment_url:
            sources.append(((f"{label}（清单附件）" if zh else f"{label} (list file)"), source.attachment_url))
    # The list's own date (a list added later to an in-place page: when first seen there), not
    # the page's (storage.list_dates).
    dated = [s for s in facts.sources if s.first_published_on or s.published_on]
    if dated:
        last = dated[-1]
        zh_date, en_date = published_label(last.first_published_on or last.published_on,
                                           last.published_basis if last.first_published_on else "announced")
        dateline = f"生成日期 {today}；{zh_date}" if zh else f"Prepared {today}; {en_date}"
    else:
        dateline = f"生成日期 {today}" if zh else f"Prepared {today}"
    return BriefText(
        lang=lang, title=title, dateline=dateline, lead=_lead(facts, lang), sections=tuple(_sections(facts, lang)),
        table_title="值得关注的备案（示例）" if zh else "Notable filings (examples)", table=_table(facts, lang),
        sources_title="来源" if zh else "Sources", sources=tuple(sources),
        chart_caption="本系列各清单规模（深色为本期）" if zh else "Size of every list of the series (dark: this brief)",
    )
