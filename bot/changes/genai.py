"""What a GenAI list's news is made of, in words every channel shares.

CAC's generative-AI lists hold three things (interfaces.md): models and services filed with the
national office (备案), apps and functions registered by provincial offices (登记) and, from
2026-08, on-device services (端侧, filed, with a 适用场景 such as 苹果手机). A reader wants them
apart ("124 models filed, 133 apps registered, 7 on-device"), the companies among them by name,
the provinces registering most, and CAC's stated totals against what cacwatch holds.

Telegram posts, e-mail digests, plain-text summaries, feeds and the web pages all take their
numbers and sentences from here (plain text; each channel escapes for its own markup). This
module stays light (no naming machinery at import): the web process imports it; only
``companies_among`` loads the company tables, on first call.

The split comes from ``counts.genai`` when the event carries it; events stored before it
existed get it derived from their ``new`` records (``registration``; on-device = filed with a
``scenario``) when those records are the whole of the new filings, else nothing is claimed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from bot.changes.vocabulary import REGISTRATION_LABELS as _REGISTRATIONS
from bot.changes.companies_data import PLACES

if TYPE_CHECKING:  # the company tables load only when companies are named (never in the web process)
    from bot.changes.companies import BigTechGroup

__all__ = [
    "GENAI_KIND",
    "REGISTRATION_LABELS",
    "registration_label",
    "GenaiSplit",
    "split_of",
    "event_split",
    "records_cover",
    "top_registration_provinces",
    "province_en",
    "scenario_en",
    "CompanyCount",
    "companies_among",
    "event_totals",
    "totals_gap",
    "split_sentences",
    "split_brief",
    "provinces_sentences",
    "totals_sentences",
    "company_sentences",
]

GENAI_KIND: Final = "genai_service"
# (zh, en) of a filing's ``registration``, as the pages, exports and messages name it.
# The two values stored (on-device is filed with a 适用场景): bot.changes.vocabulary's table.
REGISTRATION_LABELS: Final[dict[str, tuple[str, str]]] = {key: _REGISTRATIONS[key] for key in ("filed", "registered")}
TOP_PROVINCES: Final = 3  # "provinces with most registrations: 广东 31, 北京 28, 上海 20"
_MONTHS_EN: Final = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                     "October", "November", "December")


def registration_label(value: object) -> tuple[str, str]:
    """``filed`` → (备案, filed); anything else as written (nothing for null)."""
    text = "" if value is None else str(value)
    return REGISTRATION_LABELS.get(text, (text, text))


# --- the split ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenaiSplit:
    """New GenAI filings by what they are. ``filed`` includes the on-device ones (the
    ``counts.genai`` contract); ``models`` are the rest of the filed, so that
    models + registered + on_device is the number of new filings."""

    filed: int
    registered: int
    on_device: int
    scenarios: tuple[str, ...] = ()  # distinct 适用场景 of the new on-device filings, as written

    @property
    def models(self) -> int:
        return max(0, self.filed - self.on_device)

    @property
    def total(self) -> int:
        return self.models + self.registered + self.on_device


def _scenarios(records: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    found = (str(r.get("scenario") or "").strip() for r in records if r.get("registration") != "registered")
    return tuple(dict.fromkeys(s for s in found if s))


def split_of(records: Sequence[Mapping[str, Any]]) -> GenaiSplit | None:
    """The split of these records, or None when one of them does not say what it is
    (a record stored before ``registration`` existed)."""
    filed = registered = on_device = 0
    for record in records:
        registration = record.get("registration")
        if registration == "registered":
            registered += 1
        elif registration == "filed":
            filed += 1
            on_device += 1 if str(record.get("scenario") or "").strip() else 0
        else:
            return None
    return GenaiSplit(filed, registered, on_device, _scenarios(records))


def records_cover(data: Mapping[str, Any], records: Sequence[Mapping[str, Any]] | None = None) -> bool:
    """Do ``records`` (default: the event's ``new``) hold every new filing of the list? A part of
    a split event holds only some: then nothing is derived from them."""
    held = data.get("new") if records is None else records
    counts = data.get("counts") or {}
    return isinstance(held, list) and len(held) >= int(counts.get("new") or 0)


def event_split(data: Mapping[str, Any], records: Sequence[Mapping[str, Any]] | None = None) -> GenaiSplit | None:
    """The split of a GenAI list event's new filings; None for other kinds or when unknown.

    ``records``: the new filings to read when they are not ``data["new"]`` (an e-mail section
    merges the parts of a split event)."""
    if data.get("kind") != GENAI_KIND:
        return None
    held: Sequence[Mapping[str, Any]] = (data.get("new") or []) if records is None else records
    counts = data.get("counts") or {}
    genai = counts.get("genai") if isinstance(counts, Mapping) else None
    if isinstance(genai, Mapping) and all(isinstance(genai.get(k), int) for k in ("filed", "registered", "on_device")):
        return GenaiSplit(int(genai["filed"]), int(genai["registered"]), int(genai["on_device"]), _scenarios(held))
    if not held or not records_cover(data, held):
        return None
    return split_of(held)


# --- provinces --------------------------------------------------------------------------------------


def province_en(province: str) -> str:
    """属地 in English as GenAI lists write it (广东, 北京市, 国资委 …); "" when unknown."""
    term = unicodedata.normalize("NFKC", province or "").strip()
    if term in PLACES:
        return PLACES[term]
    if term == "国资委":
        return "SASAC (central SOEs)"
    for tail in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"):
        if term.endswith(tail) and term[: -len(tail)] in PLACES:
            return PLACES[term[: -len(tail)]]
    return ""


def top_registration_provinces(
    records: Iterable[Mapping[str, Any]], n: int = TOP_PROVINCES
) -> list[tuple[str, int]]:
    """The provinces (属地 as written) with most registered (登记) filings, most first."""
    counts = Counter(
        str(r.get("province") or "").strip() for r in records if r.get("registration") == "registered"
    )
    counts.pop("", None)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


# --- scenarios ------------------------------------------------------------------------------------

# 适用场景 in English: the device makers' own words (Apple says iPhone, not "Apple phone").
_SCENARIOS_EN: Final[dict[str, str]] = {
    "苹果手机": "iPhone",
    "苹果平板": "iPad",
    "苹果电脑": "Mac",
}
_BRANDS_EN: Final[dict[str, str]] = {
    "苹果": "Apple", "三星": "Samsung", "华为": "Huawei", "小米": "Xiaomi", "荣耀": "Honor", "一加": "OnePlus",
    "魅族": "Meizu", "真我": "realme", "联想": "Lenovo", "中兴": "ZTE", "努比亚": "nubia", "摩托罗拉": "Motorola",
    "传音": "Transsion", "红米": "Redmi", "索尼": "Sony", "谷歌": "Google",
}
_DEVICES_EN: Final[dict[str, str]] = {
    "手机": "phones", "平板电脑": "tablets", "平板": "tablets", "电脑": "PCs", "笔记本电脑": "laptops",
    "手表": "watches", "智能手表": "smartwatches", "汽车": "cars", "电视": "TVs", "耳机": "earphones",
}
_SCENARIO = re.compile(r"^(?P<brand>.*?)(?P<device>笔记本电脑|平板电脑|智能手表|手机|平板|电脑|手表|汽车|电视|耳机)$")


def scenario_en(scenario: str) -> str:
    """苹果手机 → iPhone, 三星手机 → Samsung phones, OPPO手机 → OPPO phones; unknown words as written."""
    text = unicodedata.normalize("NFKC", scenario or "").strip()
    if text in _SCENARIOS_EN:
        return _SCENARIOS_EN[text]
    match = _SCENARIO.match(text)
    if match:
        brand = match.group("brand").strip()
        brand_en = _BRANDS_EN.get(brand) or (brand if brand.isascii() else "")
        if brand_en or not brand:
            return f"{brand_en} {_DEVICES_EN[match.group('device')]}".strip()
    return text


# --- companies among them ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompanyCount:
    """A big-tech group or a foreign company among the new filings, by what they filed."""

    zh: str  # 阿里巴巴 / 惠普
    en: str  # Alibaba / HP
    filed: int
    registered: int
    on_device: int
    filers: tuple[str, ...]  # the filer names, as listed
    country: str = ""  # foreign companies: home country, in English

    @property
    def count(self) -> int:
        return self.filed + self.registered


def companies_among(records: Iterable[Mapping[str, Any]]) -> tuple[list[CompanyCount], list[CompanyCount]]:
    """(big-tech groups, foreign companies) among ``records``, every one of them (a reader
    following Apple must find it however many others there are): the groups readers follow
    first in their order of prominence (Baidu, Alibaba, Tencent, ByteDance …), then most filings first."""
    from bot.changes.companies import big_tech_group, foreign_filer, reading_order

    groups: dict[str, dict[str, Any]] = {}
    foreign: dict[str, dict[str, Any]] = {}
    for record in records:
        entity = str(record.get("entity") or "").strip()
        if not entity:
            continue
        found: list[tuple[dict[str, dict[str, Any]], str, str, str, str, BigTechGroup | None]] = []
        try:
            group, filer = big_tech_group(entity), foreign_filer(entity)
        except Exception:  # noqa: BLE001 - a naming bug must never cost a message; that filer goes unnamed
            continue
        if group is not None:
            found.append((groups, group.key, group.zh, group.en, "", group))
        if filer is not None:
            found.append((foreign, filer.key, filer.zh, filer.en, filer.country, None))
        for table, key, zh, en, country, company in found:
            entry = table.setdefault(key, {"zh": zh, "en": en, "country": country, "filed": 0, "registered": 0,
                                           "on_device": 0, "filers": [], "group": company})
            if record.get("registration") == "registered":
                entry["registered"] += 1
            else:
                entry["filed"] += 1
                entry["on_device"] += 1 if str(record.get("scenario") or "").strip() else 0
            if entity not in entry["filers"]:
                entry["filers"].append(entity)

    def ordered(table: dict[str, dict[str, Any]]) -> list[CompanyCount]:
        def place(e: dict[str, Any]) -> tuple[bool, int, int, str]:
            count = e["filed"] + e["registered"]
            # Groups in the big-tech finding's order (reading_order); foreign companies by count.
            return (*reading_order(e["group"], count), e["en"]) if e["group"] else (True, -count, 0, e["en"])

        entries = sorted(table.values(), key=place)
        return [CompanyCount(e["zh"], e["en"], e["filed"], e["registered"], e["on_device"], tuple(e["filers"]),
                             e["country"]) for e in entries]

    return ordered(groups), ordered(foreign)


# --- totals ---------------------------------------------------------------------------------------


def event_totals(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """CAC's stated totals against what cacwatch holds: ``data.totals``, else the
    ``totals_mismatch`` finding's. None when the event has neither or they are malformed."""
    candidates: list[Any] = [data.get("totals")]
    candidates += [f.get("data", {}).get("totals") for f in data.get("notable") or []
                   if isinstance(f, Mapping) and f.get("type") == "totals_mismatch" and isinstance(f.get("data"), Mapping)]
    for totals in candidates:
        if not isinstance(totals, Mapping):
            continue
        stated, held = totals.get("stated"), totals.get("held")
        # An announcement may state 备案 only (截至2025年3月31日，共有346款…): stated.registered null.
        if (isinstance(stated, Mapping) and isinstance(held, Mapping)
                and all(isinstance(held.get(k), int) for k in ("filed", "registered"))
                and isinstance(stated.get("filed"), int)
                and (stated.get("registered") is None or isinstance(stated.get("registered"), int))):
            return dict(totals)
    return None


def totals_gap(totals: Mapping[str, Any]) -> dict[str, int]:
    """held − stated per registration, only where they differ (empty: they reconcile)."""
    stated = totals["stated"]
    gap = {k: int(totals["held"][k]) - int(stated[k]) for k in ("filed", "registered") if stated.get(k) is not None}
    return {k: v for k, v in gap.items() if v}


# --- sentences (plain text; the channels escape them) ---------------------------------------------


def _month(list_month: str) -> tuple[str, str]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", list_month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return (list_month or "", list_month or "")
    return (f"{match.group(1)}年{int(match.group(2))}月", f"{_MONTHS_EN[int(match.group(2)) - 1]} {match.group(1)}")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def split_sentences(list_month: str, split: GenaiSplit, new: int | None = None) -> tuple[str, str]:
    """(zh, en): ``生成式人工智能服务 2026年8月：新增 264 项 — 备案 124 · 登记 133 · 端侧 7（苹果手机、三星手机）``."""
    zh_month, en_month = _month(list_month)
    total = split.total if new is None else new
    # Parts that are none are left out: the 2026-07-15 notice is "新增 7 项 — 端侧 7（…）".
    zh_parts = [f"备案 {split.models:,}"] if split.models else []
    en_parts = [_plural(split.models, "model filed", "models filed")] if split.models else []
    if split.registered:
        zh_parts.append(f"登记 {split.registered:,}")
        en_parts.append(_plural(split.registered, "app registered", "apps registered"))
    if split.on_device:
        zh_scenes = f"（{'、'.join(split.scenarios)}）" if split.scenarios else ""
        en_scenes = f" ({', '.join(scenario_en(s) for s in split.scenarios)})" if split.scenarios else ""
        zh_parts.append(f"端侧 {split.on_device:,}{zh_scenes}")
        en_parts.append(f"{split.on_device:,} on-device{en_scenes}")
    zh = f"生成式人工智能服务 {zh_month}：新增 {total:,} 项" + (" — " + " · ".join(zh_parts) if zh_parts else "")
    en = f"GenAI services, {en_month}: {total:,} new" + (" — " + ", ".join(en_parts) if en_parts else "")
    return zh, en


def split_brief(split: GenaiSplit) -> tuple[str, str]:
    """(zh, en) in a few words, for a chart caption: ``备案 124 · 登记 133 · 端侧 7``."""
    zh = [f"{word} {n:,}" for word, n in (("备案", split.models), ("登记", split.registered), ("端侧", split.on_device)) if n]
    en = [f"{n:,} {word}" for word, n in (("filed", split.models), ("registered", split.registered),
                                          ("on-device", split.on_device)) if n]
    return " · ".join(zh), ", ".join(en)


def provinces_sentences(provinces: Sequence[tuple[str, int]]) -> tuple[str, str] | None:
    """(zh, en): ``登记最多的属地：广东 31、北京 28、上海 20``."""
    if not provinces:
        return None
    zh = "登记最多的属地：" + "、".join(f"{p} {c:,}" for p, c in provinces)
    en = "Provinces with most registrations: " + ", ".join(f"{province_en(p) or p} {c:,}" for p, c in provinces)
    return zh, en


def _company_parts(company: CompanyCount, lang: str) -> str:
    if lang == "zh":
        parts = [f"备案 {company.filed - company.on_device}" if company.filed - company.on_device else "",
                 f"登记 {company.registered}" if company.registered else "",
                 f"端侧 {company.on_device}" if company.on_device else ""]
        return "、".join(p for p in parts if p)
    parts = [f"{company.filed - company.on_device} filed" if company.filed - company.on_device else "",
             f"{company.registered} registered" if company.registered else "",
             f"{company.on_device} on-device" if company.on_device else ""]
    return ", ".join(p for p in parts if p)


def _english_name(entity: str) -> str:
    from bot.changes.companies import english_name

    try:
        return english_name(entity) or entity
    except Exception:  # noqa: BLE001 - a naming bug must never cost a message
        return entity


def company_sentences(
    groups: Sequence[CompanyCount], foreign: Sequence[CompanyCount], english: Callable[[str], str] | None = None
) -> list[tuple[str, str]]:
    """(zh, en) per kind of company: every big-tech group, every foreign company, none cut.
    ``english``: a filer's English name (default: the naming machinery's)."""
    english = english or _english_name
    sentences: list[tuple[str, str]] = []
    if groups:
        sentences.append((
            "其中大型科技集团：" + "；".join(f"{g.zh} {g.count} 项（{_company_parts(g, 'zh')}）" for g in groups),
            "Big tech among them: " + "; ".join(f"{g.en} {g.count} ({_company_parts(g, 'en')})" for g in groups),
        ))
    if foreign:
        sentences.append((
            "其中外国及外商投资企业：" + "；".join(
                f"{c.zh}（{'、'.join(c.filers)}）{c.count} 项（{_company_parts(c, 'zh')}）" for c in foreign),
            "Foreign companies among them: " + "; ".join(
                f"{c.en} ({', '.join(english(f) for f in c.filers)}) {c.count} ({_company_parts(c, 'en')})"
                for c in foreign),
        ))
    return sentences


def totals_sentences(totals: Mapping[str, Any]) -> tuple[str, str, bool]:
    """(zh, en, mismatch): CAC's stated cumulative totals against what cacwatch holds."""
    stated, held, as_of = totals["stated"], totals["held"], str(totals.get("as_of") or "")
    if stated.get("registered") is None:  # only 备案 stated: compare that alone
        zh = f"网信办公布：截至 {as_of} 共 {stated['filed']:,} 款完成备案（未公布登记数）；cacwatch 现有备案 {held['filed']:,} 项"
        en = f"CAC states {stated['filed']:,} filed as of {as_of} (registrations not stated); cacwatch holds {held['filed']:,} filed"
    else:
        zh = (f"网信办公布：截至 {as_of} 共 {stated['filed']:,} 款完成备案、{stated['registered']:,} 款完成登记；"
              f"cacwatch 现有备案 {held['filed']:,} 项、登记 {held['registered']:,} 项")
        en = (f"CAC states {stated['filed']:,} filed + {stated['registered']:,} registered as of {as_of}; "
              f"cacwatch holds {held['filed']:,} + {held['registered']:,}")
    gap = totals_gap(totals)
    if not gap:
        return zh + "，一致。", en + " — they reconcile.", False
    words = {"filed": ("备案", "filed"), "registered": ("登记", "registered")}
    zh_gap = "、".join(f"{words[k][0]}{'少' if v < 0 else '多'} {abs(v):,} 项" for k, v in gap.items())
    en_gap = ", ".join(f"{abs(v):,} {words[k][1]} {'missing' if v < 0 else 'more than stated'}" for k, v in gap.items())
    return zh + f"。⚠️ 与公布数不符：{zh_gap}。", en + f". ⚠️ Mismatch: {en_gap}.", True
