"""CAC titles and URLs: which announcements are filing lists, their batch numbers, identities.

Relevance is decided on TITLES by explicit patterns (``classify_title``): the channel is
full of look-alikes (区块链信息服务备案编号, 安全评估, 答记者问 …), so "contains 备案"
would be wrong.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

from scrapers.records import Kind

__all__ = [
    "classify_title",
    "is_cancellation_title",
    "is_summary_title",
    "summary_year",
    "batch_number",
    "maybe_relevant",
    "attachment_key",
    "page_key",
]

# -- title classification -------------------------------------------------------------

# Look-alikes that share words with the filing lists but are not lists.
_EXCLUDE = re.compile(
    r"区块链|新闻信息服务|许可|安全评估|答记者问|记者问|问答|解读|清朗|征求意见|指南|填报|"
    r"专项行动|培训|系统上线|管理规定|暂行办法|座谈会"
)
_DEEP_SYNTHESIS = re.compile(r"深度合成(?:服务)?(?:算法)?备案(?:信息|清单|名单|编号)")
_RECOMMENDATION = re.compile(r"互联网信息服务算法备案(?:信息|清单|名单)|算法备案(?:清单|名单)")
_GENAI = re.compile(
    r"生成式人工智能(?:服务|应用)?.{0,12}?"
    r"(?:已备案|备案信息|已登记|登记信息|完成备案|完成登记|备案和登记|备案登记|备案清单)"
    r"|已(?:完成)?(?:备案|登记)(?:和登记)?的?生成式人工智能"
)
_CANCEL = re.compile(r"注销")


def _norm_title(title: str) -> str:
    """NFKC, no whitespace, no site suffix: titles are compared in this form."""
    t = unicodedata.normalize("NFKC", title or "")
    t = re.sub(r"\s+", "", t)
    return re.sub(r"_中国网信网$", "", t)


def is_cancellation_title(title: str) -> bool:
    """A 注销 (cancellation) notice or list of algorithm filings."""
    t = _norm_title(title)
    if not _CANCEL.search(t) or _EXCLUDE.search(t):
        return False
    return "备案" in t or "算法" in t or "生成式人工智能" in t


# A year's summary names the year and no month: ``2024年生成式人工智能服务已备案信息``,
# ``2025年度…``, ``…汇总``; a bimonthly list names its month (``（2024年8月）``) and a
# period (``2025年1-3月``) is not a year.
_SUMMARY_YEAR = re.compile(r"(?<!\d)(20\d{2})年(?:度|全年)?(?!\d{1,2}(?:[-—–~至]\d{1,2})?月)")
_SUMMARY_WORD = re.compile(r"汇总|年度")


def summary_year(title: str) -> int | None:
    """The year a summary list covers (``2024年生成式人工智能服务已备案信息`` → 2024); None for
    anything that is not a year's summary of filings (a list naming its month, a 注销 notice)."""
    t = _norm_title(title)
    if classify_title(t) is None or is_cancellation_title(t) or _BATCH.search(t):
        return None
    if re.search(r"\d{1,2}月", t):
        return None  # a month (or a period of months) is named: a list of its own
    match = _SUMMARY_YEAR.search(t)
    if match is not None:
        return int(match.group(1))
    return None


def is_summary_title(title: str) -> bool:
    """A summary that repeats the entries of a year (or of everything so far: ``…汇总``)."""
    t = _norm_title(title)
    if summary_year(t) is not None:
        return True
    return (
        classify_title(t) is not None and not is_cancellation_title(t)
        and not re.search(r"\d{1,2}月", t) and bool(_SUMMARY_WORD.search(t))
    )  # fmt: skip


def classify_title(title: str) -> Kind | None:
    """Which series a page title or attachment name belongs to; None for anything else."""
    t = _norm_title(title)
    if not t or _EXCLUDE.search(t):
        return None
    if is_cancellation_title(t):
        # 注销 notices name their series, or are generic algorithm-filing ones
        # (the 互联网信息服务算法备案 system covers recommendation algorithms).
        if "深度合成" in t:
            return Kind.DEEP_SYNTHESIS
        if "生成式人工智能" in t:
            return Kind.GENAI_SERVICE
        return Kind.ALGORITHM_RECOMMENDATION
    if _DEEP_SYNTHESIS.search(t):
        return Kind.DEEP_SYNTHESIS
    if _GENAI.search(t):
        return Kind.GENAI_SERVICE
    if _RECOMMENDATION.search(t):
        return Kind.ALGORITHM_RECOMMENDATION
    return None


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_BATCH = re.compile(r"第([0-9零〇一二两三四五六七八九十百]+)批")


def _chinese_number(text: str) -> int | None:
    """一 … 九十九 (and 一百…): 十七 → 17, 二十 → 20, 二十三 → 23, 一百零一 → 101."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def batch_number(title: str) -> int | None:
    """第N批 → N (Chinese or Arabic numerals); batch 1 of deep synthesis has no 第N批."""
    t = _norm_title(title)
    match = _BATCH.search(t)
    if match:
        return _chinese_number(match.group(1))
    if classify_title(t) is Kind.DEEP_SYNTHESIS and not is_cancellation_title(t):
        return 1
    return None


def maybe_relevant(title: str) -> bool:
    """Channel lists may truncate long titles (``…`` / ``...``): keep those whose
    visible part looks like a filing announcement; the article's full title decides."""
    if classify_title(title) is not None:
        return True
    t = _norm_title(title)
    if not re.search(r"(…|\.\.\.|。。。)$", t) or _EXCLUDE.search(t):
        return False
    return bool(re.search(r"深度合成|算法备|生成式人工智能服务|注销", t))


# -- URLs ------------------------------------------------------------------------------


def _filepath_param(query: str) -> str | None:
    # By hand, not parse_qs: the opaque tokens contain "/" and "~", and "+" must not become " ".
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if sep and name == "filepath":
            return unquote(value)
    return None


def attachment_key(url: str) -> str:
    """Identity of an attachment URL: scheme, host, path and the ``filepath`` param only
    (the page links add ``fText``, the displayed name, which may change)."""
    parts = urlsplit(url)
    base = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    filepath = _filepath_param(parts.query)
    if filepath is not None:
        return f"{base}?filepath={filepath}"
    rest = sorted(p for p in parts.query.split("&") if p and not p.startswith("fText="))
    return base + ("?" + "&".join(rest) if rest else "")


def page_key(url: str) -> str:
    """Identity of a page URL for "known" checks: host + path + query (no scheme, no fragment),
    so an ``http://`` link and an ``https://`` base still match."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{parts.path or '/'}{query}"
