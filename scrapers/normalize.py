"""Pure text normalisation for CAC filing-list cells.

Every function here is total on ``str`` input, has no I/O and is idempotent where
that makes sense, so the parsers (docx, pdf, sheets, html) can share one set of
rules and the tests can property-check them.

Rules were learnt from the real attachments and the replica's expected export:

* Text cells keep their characters as published: the export has
  ``图形起源（北京）科技有限公司`` and ``场景，根据`` with full-width punctuation, so
  ``clean_text`` does NOT apply NFKC. Consumers compare text after NFKC with
  whitespace next to CJK ignored (interfaces.md); ``text_key`` is that key.
* Products and filing numbers ARE NFKC-normalised: the export lists
  ``大麦(APP)`` for a cell reading ``大麦（APP）``.
* Genuine spaces are KEPT (``芒果TV (网站、APP)``, ``WPS AI(APP)``, even a stray
  ``变更主要用途 为``): the export keeps them.
* Line breaks are NOT genuine: they come from wrapped PDF lines or from
  extra paragraphs in a Word cell. A break next to a CJK character vanishes
  (``研究有\\n限公司`` → ``研究有限公司``); between two Latin characters it
  becomes one space (two Word paragraphs ``Hi`` / ``Echo`` are two words).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from typing import Final

__all__ = [
    "PROVINCES",
    "PINYIN_PROVINCES",
    "PLACEHOLDERS",
    "clean_text",
    "text_key",
    "is_wide",
    "normalize_filing_number",
    "is_valid_cac_number",
    "is_valid_genai_number",
    "is_registered_genai_number",
    "date_note",
    "split_products",
    "province_from_number",
    "province_from_pinyin",
    "status_from_remark",
    "role_from_text",
    "parse_filed_on",
    "list_month_from_name",
]

# Region code (first two digits of the 6-digit administrative code) → province.
PROVINCES: Final[dict[str, str]] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    # Not expected in the lists, but the codes are unambiguous.
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

# GenAI numbers start with the province in pinyin (casing varies); used only as a
# fallback when a GenAI row has no 属地 cell.
PINYIN_PROVINCES: Final[dict[str, str]] = {
    "beijing": "北京市",
    "tianjin": "天津市",
    "hebei": "河北省",
    "shanxi": "山西省",
    "neimenggu": "内蒙古自治区",
    "innermongolia": "内蒙古自治区",
    "liaoning": "辽宁省",
    "jilin": "吉林省",
    "heilongjiang": "黑龙江省",
    "shanghai": "上海市",
    "jiangsu": "江苏省",
    "zhejiang": "浙江省",
    "anhui": "安徽省",
    "fujian": "福建省",
    "jiangxi": "江西省",
    "shandong": "山东省",
    "henan": "河南省",
    "hubei": "湖北省",
    "hunan": "湖南省",
    "guangdong": "广东省",
    "guangxi": "广西壮族自治区",
    "hainan": "海南省",
    "chongqing": "重庆市",
    "sichuan": "四川省",
    "guizhou": "贵州省",
    "yunnan": "云南省",
    "xizang": "西藏自治区",
    "tibet": "西藏自治区",
    "shaanxi": "陕西省",
    "gansu": "甘肃省",
    "qinghai": "青海省",
    "ningxia": "宁夏回族自治区",
    "xinjiang": "新疆维吾尔自治区",
}

# Cell contents that mean "nothing here" (technical supporters have 应用产品 ``--``).
PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {"", "-", "--", "---", "—", "——", "–", "/", "无", "暂无", "null", "none", "n/a", "N/A", "NULL", "None"}
)

# Characters that are invisible but not ``str.isspace()``: zero-width space/joiners,
# BOM, soft hyphen. Word and PDF exports sprinkle them into cells.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# Bidi controls (LRE…RLO, LRI…PDI, LRM/RLM, ALM) never belong in a name and can make
# one read backwards in an email or chat ("\u202eexe.txt"); lone surrogates cannot
# even be encoded as UTF-8. Both are dropped with the invisible characters above.
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def _dropped(cp: int) -> bool:
    """Whether code point ``cp`` is removed from text (``_INVISIBLE``).

    Besides the characters above and lone surrogates: every other control (Cc) and format
    (Cf) character. PDF extraction reports marks such as PDFium's ``\x02`` (a hyphen at a line
    wrap) and they would reach a name, a message or a workbook (openpyxl refuses C0 controls:
    a digest once crashed on one). The PDF reader restores the hyphens it knows were printed
    (scrapers.parsers.pdf); whatever is left is not text. Whitespace controls (``\t \n \r \x0b
    \x0c \x1c-\x1f \x85``) are layout and are collapsed with the other whitespace. Cf lies below
    U+20000 and in the tag block."""
    if 0xD800 <= cp < 0xE000:
        return True
    if not (cp < 0x20000 or 0xE0000 <= cp < 0xE0080):
        return False
    ch = chr(cp)
    return ch in _ZERO_WIDTH or ch in _BIDI_CONTROLS or (unicodedata.category(ch) in ("Cc", "Cf") and not ch.isspace())


class _InvisibleTable(dict[int, "int | None"]):
    """The ``str.translate`` table dropping what ``_dropped`` says, filled per code point the
    first time one is seen (None: dropped; itself: kept). Built whole it took a scan of
    131,000 code points at every import, ~0.02 s of each process's start-up (cron's
    `check --once`, every parse worker)."""

    def __missing__(self, cp: int) -> int | None:
        value = None if _dropped(cp) else cp
        self[cp] = value
        return value


_INVISIBLE = _InvisibleTable()
_WS_RUN = re.compile(r"\s+")


def is_wide(ch: str) -> bool:
    """True for CJK ideographs and full-width/CJK punctuation (incl. curly quotes).

    Whitespace next to such a character is layout, never meaning.
    """
    if not ch:
        return False
    if ch in "“”‘’…—":
        return True
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s).translate(_INVISIBLE)


def _join_ws(match: re.Match[str]) -> str:
    run = match.group(0)
    if "\n" not in run and "\r" not in run:
        return " "
    text = match.string
    before = text[match.start() - 1] if match.start() > 0 else ""
    after = text[match.end()] if match.end() < len(text) else ""
    # A line break is a wrap (or a paragraph split inside one cell): it disappears
    # next to CJK text and separates two Latin words.
    return "" if is_wide(before) or is_wide(after) else " "


def clean_text(s: object, *, nfkc: bool = False) -> str:
    """Drop invisible chars, join wrapped lines, collapse whitespace runs, strip.

    Characters are kept as published unless ``nfkc`` (full-width punctuation in
    Chinese sentences stays full-width, as in the export). ``None`` gives ``""``;
    non-strings are ``str()``-ed (sheet cells may be numbers). Idempotent.
    """
    if s is None:
        return ""
    if not isinstance(s, str):
        if isinstance(s, float) and s.is_integer():
            s = str(int(s))
        else:
            s = str(s)
    t = (_nfkc(s) if nfkc else s.translate(_INVISIBLE)).strip()
    if not t:
        return ""
    return _WS_RUN.sub(_join_ws, t)


def text_key(s: object) -> str:
    """Comparison key of interfaces.md: NFKC, whitespace next to CJK ignored.

    Two texts that only differ by full/half-width forms or by layout whitespace
    around CJK characters have the same key (use it to diff list revisions).
    """
    t = clean_text(s, nfkc=True)
    return _WS_NEAR_WIDE.sub(_drop_ws_near_wide, t)


_WS_NEAR_WIDE = re.compile(r"\s+")


def _drop_ws_near_wide(match: re.Match[str]) -> str:
    text = match.string
    before = text[match.start() - 1] if match.start() > 0 else ""
    after = text[match.end()] if match.end() < len(text) else ""
    return "" if is_wide(before) or is_wide(after) else match.group(0)


_CAC_NUMBER = re.compile(r"网信算备\d{21}号")
_CAC_LOOSE = re.compile(r"网信算备(\d+)号?")
# GenAI numbers: province pinyin (any casing: ``ZheJiang``; ``ZhongYangQiYe`` for central
# SOEs), the service's name (letters, digits, dots: ``Dr.GDCDC``), then the date, alone
# (``Beijing-WenXinYiYan-20230821``, the first lists), with a 4-digit sequence (filed since
# 2024-08: ``Jiangsu-ZhiBiaoBao-202512030061``) or with ``S`` + 4 digits (an app registered
# by a provincial office: ``Guangdong-Dr.GDCDC-20260706S0054``).
_GENAI_NUMBER = re.compile(r"[A-Za-z]+-[A-Za-z0-9][A-Za-z0-9_.\-]*-(\d{4})(\d{2})(\d{2})(?:\d{4}|([Ss])\d{4})?")
# Dashes a number may be printed or extracted with; the number's own character is ``-``
# (NFKC already folds the full-width and small hyphen-minus).
_DASHES: dict[int, str] = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2212"), "-")


def normalize_filing_number(s: object) -> tuple[str, tuple[str, ...]]:
    """NFKC and remove all whitespace; flag numbers that fit neither known pattern.

    Returns ``(number, flags)``; ``flags`` holds ``"malformed_number"`` for e.g. the
    real 22-digit CAC number, which is kept as published. Idempotent.
    """
    number = "".join(clean_text(s, nfkc=True).split()).translate(_DASHES)
    for _ in range(3):
        # Removing whitespace can let NFKC compose anew (``R`` + `` ¸``) and NFKC
        # can emit a space (``¨``): repeat until stable so the result is idempotent.
        again = "".join(_nfkc(number).split()).translate(_DASHES)
        if again == number:
            break
        number = again
    if not number:
        return "", ("missing_number",)
    if _CAC_NUMBER.fullmatch(number) or is_valid_genai_number(number):
        return number, ()
    return number, ("malformed_number",)


def is_valid_cac_number(number: str) -> bool:
    """``网信算备`` + exactly 21 digits + ``号``."""
    return _CAC_NUMBER.fullmatch(number) is not None


def is_valid_genai_number(number: str) -> bool:
    """``Province-Name-YYYYMMDD`` + optionally 4 digits (filed) or ``S`` + 4 digits
    (registered); the date must be a real day of the 2020s-2090s."""
    m = _GENAI_NUMBER.fullmatch(number)
    return m is not None and 2020 <= int(m.group(1)) <= 2099 and _iso(int(m.group(1)), int(m.group(2)), int(m.group(3))) is not None


def is_registered_genai_number(number: str) -> bool:
    """A valid GenAI number of the registered (登记, 上线编号) form ``…-YYYYMMDDSnnnn``."""
    m = _GENAI_NUMBER.fullmatch(number)
    return m is not None and m.group(4) is not None and is_valid_genai_number(number)


_OPEN = "([{（【〔《〈「『"
_CLOSE = ")]}）】〕》〉」』"


def _split_top_level(s: str) -> list[str]:
    """Split at ``、`` outside brackets; a line break after a closed ``)`` also splits.

    The line-break rule covers Word cells that list one product per paragraph
    (``快手(APP)`` / ``快影(APP)``); a break anywhere else is a wrap and joins.
    """
    parts: list[str] = []
    buf: list[str] = []
    depth = 0
    i = 0
    n = len(s)
    while i < n:
        ch = s[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if depth == 0 and ch == "、":
            parts.append("".join(buf))
            buf = []
        elif ch == "\n":
            prev = "".join(buf).rstrip()
            j = i + 1
            while j < n and s[j].isspace():
                j += 1
            nxt = s[j] if j < n else ""
            if depth == 0 and prev.endswith(")") and nxt and nxt not in "(、等" and nxt not in _OPEN:
                parts.append("".join(buf))
                buf = []
            elif prev[-1:] in _OPEN + _CLOSE + "、" or nxt in _OPEN + _CLOSE + "、":
                buf.append("")  # a wrap next to a bracket: 文档翻译(开发版) / (网站)
            else:
                buf.append(ch)
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def split_products(s: object) -> list[str]:
    """应用产品 cell → product list: split at top-level ``、``, drop placeholders.

    ``风行视频（APP、网站、小程序）、风行电视应用（APP）`` → two products. Full-width
    brackets become half-width (NFKC) as in the export.
    """
    if s is None:
        return []
    raw = _nfkc(str(s)).replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for part in _split_top_level(raw):
        p = clean_text(part, nfkc=True)
        if p in PLACEHOLDERS or p.lower() in PLACEHOLDERS or set(p) <= set("-—–_/ "):
            continue
        out.append(p)
    return out


def province_from_number(number: str) -> str | None:
    """Province from a CAC number's region code (``网信算备11…`` → ``北京市``)."""
    m = _CAC_LOOSE.search("".join(_nfkc(number or "").split()))
    if not m or len(m.group(1)) < 2:
        return None
    return PROVINCES.get(m.group(1)[:2])


def province_from_pinyin(number: str) -> str | None:
    """Province from a GenAI number's pinyin prefix (``Beijing-…`` → ``北京市``)."""
    head = "".join(_nfkc(number or "").split()).split("-", 1)[0].lower()
    return PINYIN_PROVINCES.get(head)


# 已注销 / 已被注销 / 予以注销 / a remark that is just 注销(…): the row is cancelled.
# 未注销, 注销后重新备案 etc. must not count, so stay specific.
_CANCELLED = re.compile(r"已(?:被)?注销|予以注销|^注销(?!后)|注销状态")
_NOT_CANCELLED = re.compile(r"未注销|撤销注销|恢复")


def status_from_remark(remark: object) -> str:
    """``"cancelled"`` when 备注 marks the row as cancelled, else ``"active"``."""
    text = "".join(clean_text(remark, nfkc=True).split())
    if text and _CANCELLED.search(text) and not _NOT_CANCELLED.search(text):
        return "cancelled"
    return "active"


def role_from_text(s: object) -> str | None:
    """角色 cell → ``provider`` / ``technical_supporter`` (None when unrecognised)."""
    text = "".join(clean_text(s, nfkc=True).split())
    if not text:
        return None
    i_sup = text.find("技术支持")
    i_prov = text.find("提供")
    if i_sup < 0 and i_prov < 0:
        low = text.lower()
        if "support" in low:
            return "technical_supporter"
        if "provider" in low:
            return "provider"
        return None
    if i_sup >= 0 and (i_prov < 0 or i_sup < i_prov):
        return "technical_supporter"
    return "provider"


_EXCEL_EPOCH = _dt.date(1899, 12, 30)
_DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"),
    re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),
)


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return _dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def parse_filed_on(s: object) -> str | None:
    """备案时间 → ``YYYY-MM-DD``; None when empty or not a date.

    Accepts ``2024/3/27``, ``2024-03-27``, ``2024年3月27日``, ``20240327``,
    date/datetime objects and Excel serial numbers (xlsx/xls date cells).
    """
    if s is None:
        return None
    if isinstance(s, _dt.datetime):
        return s.date().isoformat()
    if isinstance(s, _dt.date):
        return s.isoformat()
    if isinstance(s, bool):
        return None
    if isinstance(s, (int, float)):
        # Excel serials between 1954 and 2119 (anything else is not a date).
        if 20000 <= s <= 80000:
            return (_EXCEL_EPOCH + _dt.timedelta(days=int(s))).isoformat()
        if isinstance(s, int) or float(s).is_integer():
            return parse_filed_on(str(int(s)))
        return None
    text = clean_text(s, nfkc=True)
    if not text:
        return None
    for pat in _DATE_PATTERNS:
        m = pat.search(text)
        if m:
            return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if re.fullmatch(r"\d{5}(?:\.0+)?", text):
        return parse_filed_on(float(text))
    return None


_BRACKETED = re.compile(r"\(([^()]*)\)")


def date_note(s: object) -> str:
    """The bracketed note of a date cell (``2025/6/30（补登）`` → ``补登``, a late
    registration), ``""`` when there is none; notes are joined with ``；``."""
    if s is None or isinstance(s, (int, float, _dt.date)):
        return ""
    notes = (clean_text(m.group(1)) for m in _BRACKETED.finditer(clean_text(s, nfkc=True)))
    return "；".join(n for n in notes if n)


_MONTH_CN = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月")
_MONTH_NUM = re.compile(r"(?<!\d)(20\d{2})\s*[-./_]\s*(\d{1,2})(?!\d)")


def list_month_from_name(name: object) -> str | None:
    """``…清单（2024年4月）`` → ``2024-04``; None when the name carries no month.

    When several months occur, the one inside brackets wins, else the last one
    (names put the list month at the end).
    """
    text = clean_text(name, nfkc=True)
    if not text:
        return None
    candidates: list[tuple[bool, int, int]] = []
    for pat in (_MONTH_CN, _MONTH_NUM):
        for m in pat.finditer(text):
            y, mo = int(m.group(1)), int(m.group(2))
            if 1 <= mo <= 12 and 2000 <= y <= 2100:
                in_brackets = "(" in text[: m.start()] and ")" in text[m.end() :]
                candidates.append((in_brackets, m.start(), y * 100 + mo))
        if candidates:
            break
    if not candidates:
        return None
    bracketed = [c for c in candidates if c[0]]
    best = (bracketed or candidates)[-1][2]
    return f"{best // 100:04d}-{best % 100:02d}"
