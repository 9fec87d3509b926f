"""Who a filer is: big-tech group, foreign parent, English name; plus the glossary.

Every notifier uses these, so a filer is named the same way everywhere. The tables are in
``bot.changes.companies_data``; this module holds the matching and rendering rules.

- ``big_tech_group`` / ``foreign_filer``: maintained regex patterns over the NFKC-normalised
  name (see companies_data for why they are narrow).
- ``english_name``: the maintained name if there is one, else a rule-based rendering: place
  prefix (北京 → Beijing), bracketed place (（上海） → (Shanghai)), trade name (known brands, else
  pypinyin), industry words (科技 → Technology) and the organisation type (有限公司 → Co., Ltd.).
  Deterministic and total: it never raises and returns text for any visible input.
- ``GLOSSARY`` / ``translate_term`` / ``province_en`` / ``batch_label`` for everything else a
  post says in English.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from bot.changes.vocabulary import CATEGORY_LABELS, ROLE_LABELS, kind_names
from bot.changes.companies_data import (
    BIG_TECH_SPECS,
    ENGLISH_NAMES,
    FOREIGN_SPECS,
    INDUSTRY_WORDS,
    ORG_SUFFIXES,
    PLACES,
    PROVINCES_EN,
    TRADE_NAMES,
)

__all__ = [
    "BigTechGroup",
    "ForeignFiler",
    "BIG_TECH",
    "FOREIGN",
    "GLOSSARY",
    "KIND_NAMES",
    "LEADING_GROUPS",
    "reading_order",
    "big_tech_group",
    "foreign_filer",
    "big_tech_groups",
    "foreign_filers",
    "english_name",
    "normalize_name",
    "translate_term",
    "province_en",
    "batch_label",
    "ordinal_en",
    "chinese_number",
]


@dataclass(frozen=True, slots=True)
class BigTechGroup:
    key: str  # stable id, e.g. "alibaba"
    zh: str  # 阿里巴巴
    en: str  # Alibaba
    aliases: tuple[str, ...] = field(default=(), compare=False, repr=False)
    patterns: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Order of prominence (0 = first): the order readers expect groups named in, not their row
    # counts — a state-owned carrier with many rows never pushes Tencent out of a sentence.
    prominence: int = field(default=1_000, compare=False)
    # The groups readers follow (Baidu, Alibaba, Tencent, ByteDance …): always named when present.
    leading: bool = field(default=False, compare=False)


def reading_order(group: BigTechGroup, count: int) -> tuple[bool, int, int]:
    """Where a group stands when several are named: the groups readers follow first, in their
    order of prominence; the others by count, then prominence. One order for the big-tech
    finding, the GenAI company line and the briefs."""
    return (not group.leading, group.prominence if group.leading else -count, group.prominence)


@dataclass(frozen=True, slots=True)
class ForeignFiler:
    key: str
    zh: str
    en: str
    country: str  # home country, in English
    aliases: tuple[str, ...] = field(default=(), compare=False, repr=False)
    patterns: tuple[str, ...] = field(default=(), compare=False, repr=False)


# --- normalisation ----------------------------------------------------------------------------

# Zero-width and other format characters (category Cf) survive NFKC and str.strip().
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]+")


def normalize_name(name: str) -> str:
    """NFKC (full-width brackets and letters become ASCII), no whitespace, no control chars."""
    if not isinstance(name, str):
        return ""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return _INVISIBLE.sub("", text)


# Names are short; anything longer is not a company name and is only clipped, not matched whole.
_MATCH_LIMIT: Final = 300


# --- big tech and foreign filers --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Matcher:
    regex: re.Pattern[str]
    names: dict[str, str]  # brand fragments rendered for this company's filers only


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    # Each pattern keeps its own inline flags ((?i)…) as a scoped group.
    parts = []
    for pattern in patterns:
        match = re.match(r"\(\?([aiLmsux]+)\)", pattern)
        parts.append(f"(?{match.group(1)}:{pattern[match.end():]})" if match else f"(?:{pattern})")
    return re.compile("|".join(parts))


# The groups the press names when it reports a list ("the likes of Baidu, Alibaba and Tencent"),
# in the order they are named: these lead every big-tech sentence and are never cut from it. The
# other groups follow by their number of filings (the carriers, NetEase, iFlytek …).
LEADING_GROUPS: Final[tuple[str, ...]] = (
    "baidu", "alibaba", "tencent", "bytedance", "huawei", "meituan", "jd", "kuaishou", "xiaomi", "pinduoduo",
)
_OTHER_KEYS: Final = tuple(s.key for s in BIG_TECH_SPECS if s.key not in LEADING_GROUPS)
_PROMINENCE: Final[dict[str, int]] = {key: i for i, key in enumerate(LEADING_GROUPS + _OTHER_KEYS)}

_GROUPS: Final[tuple[tuple[BigTechGroup, _Matcher], ...]] = tuple(
    (
        BigTechGroup(s.key, s.zh, s.en, s.aliases, s.patterns, _PROMINENCE[s.key], s.key in LEADING_GROUPS),
        _Matcher(_compile(s.patterns), dict(s.names)),
    )
    for s in BIG_TECH_SPECS
)
_FOREIGN: Final[tuple[tuple[ForeignFiler, _Matcher], ...]] = tuple(
    (
        ForeignFiler(s.key, s.zh, s.en, s.country, s.aliases, s.patterns),
        _Matcher(_compile(s.patterns), {s.zh: s.en, **dict(s.names)}),
    )
    for s in FOREIGN_SPECS
)


def _first_match(table: Sequence[tuple[object, _Matcher]], norm: str) -> int:
    """The index of the first entry whose patterns match the normalized name, or -1."""
    return next((index for index, (_, matcher) in enumerate(table) if matcher.regex.search(norm)), -1)


@lru_cache(maxsize=65536)
def _group_index(norm: str) -> int:
    return _first_match(_GROUPS, norm)


@lru_cache(maxsize=65536)
def _foreign_index(norm: str) -> int:
    return _first_match(_FOREIGN, norm)


def big_tech_group(entity: str) -> BigTechGroup | None:
    """The big-tech group a filer belongs to (阿里巴巴（中国）有限公司 → Alibaba), or None."""
    index = _group_index(normalize_name(entity)[:_MATCH_LIMIT])
    return _GROUPS[index][0] if index >= 0 else None


def foreign_filer(entity: str) -> ForeignFiler | None:
    """The foreign parent of a foreign or foreign-invested filer (惠普贸易（上海）有限公司 → HP)."""
    index = _foreign_index(normalize_name(entity)[:_MATCH_LIMIT])
    return _FOREIGN[index][0] if index >= 0 else None


BIG_TECH: Final[tuple[BigTechGroup, ...]] = tuple(group for group, _ in _GROUPS)
FOREIGN: Final[tuple[ForeignFiler, ...]] = tuple(filer for filer, _ in _FOREIGN)


def big_tech_groups() -> tuple[BigTechGroup, ...]:
    return BIG_TECH


def foreign_filers() -> tuple[ForeignFiler, ...]:
    return FOREIGN


def _fold_en(text: str) -> str:
    """English spellings compared loosely: case, accents, punctuation and spaces ignored."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text.casefold() if ch.isalnum() and not unicodedata.combining(ch))


# Which companies a query names (Chinese or English, brands): ``bot.changes.resolver.resolve``.


# --- English names ----------------------------------------------------------------------------

_ENGLISH_BY_KEY: Final[dict[str, str]] = {normalize_name(k): v for k, v in ENGLISH_NAMES.items()}
_PLACE_KEYS: Final[tuple[str, ...]] = tuple(sorted(PLACES, key=len, reverse=True))
_INDUSTRY_KEYS: Final[tuple[str, ...]] = tuple(sorted(INDUSTRY_WORDS, key=len, reverse=True))
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_BRANCH = re.compile(r"^(.+?(?:有限责任公司|有限公司|公司))(.*?)(分公司|分行|支行)$")
# What an English name may contain besides letters and digits: no markup characters.
_ALLOWED_PUNCT: Final = frozenset(" &'(),-./+:")
_INPUT_LIMIT: Final = 120


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _pinyin_words(han: str) -> list[str]:
    """A run of Han characters as capitalised pinyin words of two syllables (智谱华章 → Zhipu Huazhang)."""
    # Imported here: pypinyin's dictionaries cost ~55 MB and 0.2 s, and most polls name no filer.
    from pypinyin import Style, lazy_pinyin

    syllables = [_strip_accents(s) for s in lazy_pinyin(han, style=Style.NORMAL, v_to_u=True)]
    syllables = [s for s in syllables if s]
    if not syllables:
        return []
    if len(syllables) <= 3:
        chunks = [syllables]
    else:
        chunks = [syllables[i : i + 2] for i in range(0, len(syllables), 2)]
        if len(chunks[-1]) == 1:  # an odd syllable joins the word before it
            last = chunks.pop()
            chunks[-1] = chunks[-1] + last
    words = []
    for chunk in chunks:
        word = chunk[0]
        for syllable in chunk[1:]:
            # Pinyin's apostrophe: Xi'an is not Xian.
            word += ("'" if syllable[:1] in "aoe" else "") + syllable
        words.append(word[:1].upper() + word[1:])
    return words


def _trade_words(text: str, names: dict[str, str]) -> list[str]:
    """A trade name: known brand fragments in English, other Han text in pinyin, Latin as written."""
    # A brand written with a hyphen (梅赛德斯-奔驰, 一汽-大众) is one name, not two around a dash.
    whole = names.get(text)
    if whole:
        return [whole]
    words: list[str] = []
    for piece in re.split(f"({_HAN_RUN.pattern})", text):
        if not piece:
            continue
        if not _HAN.match(piece):
            words.append(piece)
            continue
        pending = ""
        i = 0
        while i < len(piece):
            for size in range(min(8, len(piece) - i), 1, -1):
                fragment = piece[i : i + size]
                english = names.get(fragment) or TRADE_NAMES.get(fragment)
                if english:
                    break
            else:
                pending += piece[i]
                i += 1
                continue
            words += _pinyin_words(pending)
            pending = ""
            words.append(english)
            i += size
        words += _pinyin_words(pending)
    return words


def _segment_words(segment: str, names: dict[str, str]) -> list[str]:
    """Trade name followed by industry words, peeled off the end (大麦文化传媒发展 → Damai Culture & Media Development)."""
    tail: list[str] = []
    rest = segment
    while rest:
        # What is left being exactly a brand ending in an industry word (中国移动, 招商银行) stays whole.
        if rest in names or rest in TRADE_NAMES:
            break
        for key in _INDUSTRY_KEYS:
            if rest.endswith(key):
                tail.insert(0, INDUSTRY_WORDS[key])
                rest = rest[: -len(key)]
                break
        else:
            break
    return _trade_words(rest, names) + tail


def _leading_places(segment: str, names: dict[str, str]) -> tuple[list[str], str]:
    """Place prefixes (北京, 深圳市, 广东省深圳市…), unless a longer brand starts there (中国移动)."""
    words: list[str] = []
    for _ in range(3):
        place = next((p for p in _PLACE_KEYS if segment.startswith(p) and len(segment) > len(p)), None)
        if place is None:
            break
        brand = max((len(b) for b in (*names, *TRADE_NAMES) if segment.startswith(b)), default=0)
        if brand > len(place):
            break
        words.append(PLACES[place])
        segment = segment[len(place) :]
    return words, segment


def _core_words(core: str, names: dict[str, str]) -> list[str]:
    words: list[str] = []
    first = True
    position = 0
    for match in [*_BRACKETED.finditer(core), None]:
        plain = core[position : match.start() if match else len(core)]
        if plain:
            if first:
                places, plain = _leading_places(plain, names)
                words += places
            words += _segment_words(plain, names)
        first = False
        if match is None:
            break
        inner = match.group(1)
        inner_words = [PLACES[inner]] if inner in PLACES else _segment_words(inner, names)
        if inner_words:
            words.append("(" + " ".join(inner_words) + ")")
        position = match.end()
    return words


def _suffix(name: str) -> tuple[str, str]:
    for zh, en in ORG_SUFFIXES:
        if name.endswith(zh) and len(name) > len(zh):
            return name[: -len(zh)], en
    return name, ""


def _render(name: str, names: dict[str, str]) -> str:
    branch = _BRANCH.match(name)
    if branch:
        head, where, kind = branch.groups()
        where_words = [PLACES[where]] if where in PLACES else _core_words(where, names)
        label = "Sub-branch" if kind == "支行" else "Branch"
        return " ".join([_render(head, names), *where_words, label])
    core, suffix = _suffix(name)
    words = _core_words(core, names)
    if suffix:
        words.append(suffix)
    return " ".join(words)


def _tidy(text: str) -> str:
    """ASCII-safe-ish: no accents, no markup or control characters, single spaces."""
    text = _strip_accents(text)
    text = "".join(ch if (ch.isalnum() or ch in _ALLOWED_PUNCT) else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\s+([,.)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    return re.sub(r"\s+", " ", text).strip(" ,")


def _clean_input(entity: str) -> str:
    text = unicodedata.normalize("NFKC", entity)
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    # Spaces inside Chinese names are layout accidents; between Latin words they are real.
    text = re.sub(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])", "", text.strip())
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=65536)
def _english_cached(text: str) -> str:
    key = normalize_name(text)
    if key in _ENGLISH_BY_KEY:
        return _ENGLISH_BY_KEY[key]
    if key in TRADE_NAMES:  # a whole name that is a known one: 清华大学, 北京大学 (not "Beijing University")
        return TRADE_NAMES[key]
    clipped = len(text) > _INPUT_LIMIT
    body = text[:_INPUT_LIMIT] if clipped else text
    names: dict[str, str] = {}
    group = _group_index(key[:_MATCH_LIMIT])
    if group >= 0:
        names.update(_GROUPS[group][1].names)
    foreign = _foreign_index(key[:_MATCH_LIMIT])
    if foreign >= 0:
        names.update(_FOREIGN[foreign][1].names)
    # Spaces only matter between Latin words; the Chinese rules work on the unspaced name.
    rendered = _tidy(_render(body.replace(" ", "\u3000") if _HAN.search(body) else body, names).replace("\u3000", " "))
    if clipped and rendered:
        rendered += "..."
    if not rendered:
        # Nothing renderable (only symbols or emoji): the visible characters themselves.
        rendered = re.sub(r"\s+", " ", "".join(ch for ch in body if ch.isprintable() and ch not in "<>&")).strip()
    return rendered or "-"


def english_name(entity: str) -> str:
    """The filer's English name: maintained if known, otherwise rendered by rule.

    ``北京智谱华章科技有限公司`` → ``Beijing Zhipu Huazhang Technology Co., Ltd.``. Never raises; an
    empty or blank input gives ``""``, any other input a non-empty string.
    """
    try:
        text = _clean_input(entity if isinstance(entity, str) else str(entity or ""))
        if not text:
            return ""
        return _english_cached(text)
    except Exception:  # noqa: BLE001 - a naming bug must never stop a notification
        fallback = "".join(ch for ch in str(entity) if ch.isprintable() and ch not in "<>&").strip()
        return fallback[:_INPUT_LIMIT] or "-"


# --- glossary ---------------------------------------------------------------------------------

# (zh, en) of each kind of list, as a sentence names it.
KIND_NAMES: Final[dict[str, tuple[str, str]]] = kind_names("sentence")

_KIND_TERMS: Final[dict[str, str]] = {
    "deep_synthesis": "deep synthesis",
    "深度合成": "deep synthesis",
    "深度合成服务算法": "deep-synthesis service algorithms",
    "algorithm_recommendation": "recommendation algorithms",
    "算法推荐": "recommendation algorithms",
    "互联网信息服务算法": "internet information service algorithms",
    "genai_service": "generative AI services",
    "生成式人工智能": "generative AI",
    "生成式人工智能服务": "generative AI services",
}

GLOSSARY: Final[dict[str, str]] = {
    # roles (角色), in Chinese and as exported; the recommendation categories (算法类别): the one
    # table of bot.changes.vocabulary
    **{zh: en for zh, en in ROLE_LABELS.values()},
    **{key: en for key, (_, en) in ROLE_LABELS.items()},
    **{zh: en for zh, en in CATEGORY_LABELS.values()},
    # product types (应用产品)
    "APP": "app",
    "App": "app",
    "app": "app",
    "网站": "website",
    "小程序": "mini program",
    "公众号": "public account",
    "快应用": "quick app",
    "其他": "other",
    "其它": "other",
    # statuses and remarks
    "active": "active",
    "cancelled": "cancelled",
    "已注销": "cancelled",
    "注销": "cancellation",
    "备案编号": "filing number",
    "主体名称": "filer",
    "算法名称": "algorithm name",
    "应用产品": "products",
    "主要用途": "main use",
    "备注": "remarks",
    "属地": "location",
    **_KIND_TERMS,
    **PROVINCES_EN,
}


def translate_term(zh: str) -> str:
    """A glossary term in English (生成合成类 → generation & synthesis, 广东省 → Guangdong).

    Unknown terms come back as given (stripped), so callers can always print the result.
    """
    if not isinstance(zh, str):
        return ""
    term = unicodedata.normalize("NFKC", zh).strip()
    found = GLOSSARY.get(term) or GLOSSARY.get(term + "类") or GLOSSARY.get(term.upper())
    if found:
        return found
    return province_en(term) or term


_PROVINCE_PINYIN: Final[dict[str, str]] = {
    **{_fold_en(en): en for en in PROVINCES_EN.values()},
    "neimenggu": "Inner Mongolia",
    "xizang": "Tibet",
    "macau": "Macao",
}


def province_en(zh: str) -> str:
    """Province (or major city) in English: 北京市 / 北京 → Beijing, 内蒙古自治区 → Inner Mongolia.

    Also accepts pinyin or English spellings (beijing, Xizang). Unknown → ``""``.
    """
    if not isinstance(zh, str):
        return ""
    term = normalize_name(zh)
    if term in PLACES:
        return PLACES[term]
    for tail in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"):
        if term.endswith(tail) and term[: -len(tail)] in PLACES:
            return PLACES[term[: -len(tail)]]
    return _PROVINCE_PINYIN.get(_fold_en(term), "")


# --- numbers ----------------------------------------------------------------------------------

_DIGITS: Final = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """Chinese numerals as used in 第N批: 10 → 十, 11 → 十一, 20 → 二十, 105 → 一百零五."""
    if n < 0:
        return "负" + chinese_number(-n)
    if n < 10:
        return _DIGITS[n]
    if n >= 100_000_000:
        return str(n)  # beyond 亿: never a batch number
    if n >= 10_000:
        high, low = divmod(n, 10_000)
        rest = "" if low == 0 else ("零" if low < 1000 else "") + _small_chinese(low, leading=False)
        return _small_chinese(high, leading=True) + "万" + rest
    return _small_chinese(n, leading=True)


def _small_chinese(n: int, *, leading: bool) -> str:
    # 1 ≤ n ≤ 9999. A leading 一十 is said 十 (十六, not 一十六); inside a number it is 一十 (一百一十).
    units = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    out = ""
    zero = False
    started = False
    for value, unit in units:
        digit = (n // value) % 10
        if digit == 0:
            zero = started
            continue
        if zero:
            out += "零"
            zero = False
        if not (digit == 1 and value == 10 and not started and leading):
            out += _DIGITS[digit]
        out += unit
        started = True
    return out


def ordinal_en(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd, 111th…"""
    suffix = "th" if 10 <= abs(n) % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(abs(n) % 10, "th")
    return f"{n}{suffix}"


def batch_label(n: int) -> tuple[str, str]:
    """(第十六批, 16th batch)."""
    return (f"第{chinese_number(int(n))}批", f"{ordinal_en(int(n))} batch")
