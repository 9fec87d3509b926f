"""The words cacwatch uses for kinds of lists, fields, values and changes, in Chinese and English.

Defined once here; every renderer (Telegram posts, email digests, plain-text summaries,
findings, the CLI's tables, charts) reads its wording from these tables. A kind has
several established renderings because each medium names it differently (a sentence, a
heading, a post about filings, a terminal table, an ASCII chart title): they are kept
side by side here so a change of wording is made in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "ROLE_LABELS",
    "CATEGORY_LABELS",
    "REGISTRATION_LABELS",
    "STATUS_LABELS",
    "registration_type",
    "value_label",
    "english_labels",
    "ENGLISH_LABEL_FIELDS",
    "month_label",
    "list_name_en",
    "KIND_TABLE_TITLES",
    "KIND_CHART_TITLES",
    "FIELD_LABELS",
    "CHANGE_LABELS",
    "kind_names",
    "published_label",
    "row_label",
]


# (zh, en) of each kind, per medium: inside a finding's sentence …
_SENTENCE: Final[dict[str, tuple[str, str]]] = {
    "deep_synthesis": ("深度合成服务算法", "deep-synthesis algorithms"),
    "algorithm_recommendation": ("互联网信息服务算法", "recommendation algorithms"),
    "genai_service": ("生成式人工智能服务", "generative-AI services"),
}
# … as the heading of a summary or of a digest section …
_SERIES: Final[dict[str, tuple[str, str]]] = {
    "deep_synthesis": ("深度合成服务算法", "Deep synthesis algorithms"),
    "algorithm_recommendation": ("算法推荐", "Recommendation algorithms"),
    "genai_service": ("生成式人工智能服务", "Generative-AI services"),
}
# … and as what a Telegram post is about.
_FILINGS: Final[dict[str, tuple[str, str]]] = {
    "deep_synthesis": ("深度合成服务算法备案", "deep-synthesis filings"),
    "algorithm_recommendation": ("互联网信息服务算法备案", "recommendation-algorithm filings"),
    "genai_service": ("生成式人工智能服务备案", "generative-AI service filings"),
}
_VIEWS: Final = {"sentence": _SENTENCE, "series": _SERIES, "filings": _FILINGS}

# One bilingual line per kind: the titles of the CLI's tables.
KIND_TABLE_TITLES: Final[dict[str, str]] = {
    "deep_synthesis": "Deep synthesis 深度合成",
    "algorithm_recommendation": "Recommendation algorithms 算法推荐",
    "genai_service": "Generative-AI services 生成式人工智能",
}
# ASCII only (the chart font has no CJK glyphs): chart titles.
KIND_CHART_TITLES: Final[dict[str, str]] = {
    "deep_synthesis": "Deep-synthesis algorithm filings",
    "algorithm_recommendation": "Recommendation algorithm filings",
    "genai_service": "Generative-AI service filings",
}


def kind_names(view: str) -> dict[str, tuple[str, str]]:
    """{kind: (zh, en)} of one view: ``sentence``, ``series`` or ``filings`` (a copy)."""
    return dict(_VIEWS[view])


# (zh, en) of the fields of a filing (export record), as changes and tables name them.
FIELD_LABELS: Final[dict[str, tuple[str, str]]] = {
    "name": ("名称", "name"),
    "entity": ("主体", "filer"),
    "role": ("角色", "role"),
    "category": ("类别", "category"),
    "products": ("应用产品", "products"),
    "purpose": ("主要用途", "purpose"),
    "province": ("属地", "province"),
    "remark": ("备注", "remark"),
    "status": ("状态", "status"),
    "filed_on": ("备案时间", "filed on"),
    "registration": ("备案/登记", "filed / registered"),
    "scenario": ("适用场景", "scenario"),
}

# (zh, en) of what happened to a filing.
CHANGE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "new": ("新增", "new"),
    "changed": ("变更", "changed"),
    "cancelled": ("注销", "cancelled"),
    "renamed": ("更名", "renamed"),
    "removed": ("移出名单", "removed"),
}


def published_label(date: str | None, basis: str | None) -> tuple[str, str]:
    """(zh, en) of a list's date, saying on what it rests (storage.list_dates): the date CAC
    published it, or the day cacwatch first saw it on a page CAC updates in place; "" when
    unknown."""
    if not date:
        return "", ""
    if basis == "first_seen":
        return f"首次见于页面 {date}", f"first seen on the page {date}"
    return f"发布 {date}", f"published {date}"


def row_label(seq: str | None, row_index: int) -> tuple[str, str]:
    """(zh, en) of where a row stands in its list: its 序号 as printed, else its 1-based
    position, saying which ("序号 55" / "row 55 (position)")."""
    if seq:
        return f"序号 {seq}", f"No. {seq} (序号 as printed)"
    return f"第 {row_index + 1} 行（位置）", f"row {row_index + 1} (position)"
# --- values of a filing: one table for every page, filter, export, post and digest -------------

# (zh, en) of a filing's role (角色), as stored (the machine name) …
ROLE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "provider": ("服务提供者", "service provider"),
    "technical_supporter": ("服务技术支持者", "technical supporter"),
}
# … of the 算法类别 (categories) CAC prints, as printed …
CATEGORY_LABELS: Final[dict[str, tuple[str, str]]] = {
    "个性化推送类": ("个性化推送类", "personalised push"),
    "排序精选类": ("排序精选类", "ranking & selection"),
    "检索过滤类": ("检索过滤类", "search & filtering"),
    "信息检索类": ("信息检索类", "information retrieval"),
    "调度决策类": ("调度决策类", "scheduling & decision-making"),
    "内容过滤类": ("内容过滤类", "content filtering"),
    "生成合成类": ("生成合成类", "generation & synthesis"),
}
# … of a GenAI filing's registration type: filed (备案), registered by a provincial office
# (登记), or filed for on-device use (a 适用场景 given) …
REGISTRATION_LABELS: Final[dict[str, tuple[str, str]]] = {
    "filed": ("备案", "filed"),
    "registered": ("已登记", "registered"),
    "on_device": ("端侧备案", "on-device"),
}
# … and of its status.
STATUS_LABELS: Final[dict[str, tuple[str, str]]] = {
    "active": ("有效", "active"),
    "cancelled": ("已注销", "cancelled"),
}
_VALUE_TABLES: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "role": ROLE_LABELS, "category": CATEGORY_LABELS, "registration": REGISTRATION_LABELS, "status": STATUS_LABELS,
}


def registration_type(registration: object, scenario: object = None) -> str | None:
    """filed | registered | on_device (filed, with a 适用场景), or None (not a GenAI filing)."""
    if registration == "registered":
        return "registered"
    if registration == "filed":
        return "on_device" if isinstance(scenario, str) and scenario.strip() else "filed"
    return None


def value_label(field: str, value: object) -> tuple[str, str]:
    """(zh, en) of a field's value (role, category, registration, status); a value the table does
    not know comes back as given in both (a category CAC adds is still shown, never dropped)."""
    if value is None or value == "":
        return ("", "")
    text = str(value).strip()
    table = _VALUE_TABLES.get(field, {})
    found = table.get(text) or (table.get(text + "类") if field == "category" else None)
    return found or (text, text)


# The English columns exports add beside the Chinese ones (and the API's filing items carry).
ENGLISH_LABEL_FIELDS: Final = ("role_en", "category_en", "registration_en")


def english_labels(record: Mapping[str, Any]) -> dict[str, str]:
    """{role_en, category_en, registration_en} of an export record (empty strings when unset)."""
    registration = registration_type(record.get("registration"), record.get("scenario"))
    return {
        "role_en": value_label("role", record.get("role"))[1],
        "category_en": value_label("category", record.get("category"))[1],
        "registration_en": value_label("registration", registration)[1] if registration else "",
    }


_MONTHS_EN: Final = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                     "November", "December")


def month_label(list_month: str | None) -> tuple[str, str]:
    """``2024-04`` → (``2024年4月``, ``April 2024``); anything else as written."""
    text = list_month or ""
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return (f"{text[:4]}年{int(text[5:])}月", f"{_MONTHS_EN[int(text[5:]) - 1]} {text[:4]}")
    return (text, text)


def list_name_en(kind: str, list_month: str | None, *, cancellation: bool = False) -> str:
    """A list's name in English: "Deep synthesis algorithms: filing list, January 2024"
    ("…: cancellations, …" for a 注销 notice). CAC's own title is the Chinese name."""
    _, series = _SERIES.get(kind, (kind, kind.replace("_", " ")))
    what = "cancellations" if cancellation else "filing list"
    month = month_label(list_month)[1]
    return f"{series}: {what}, {month}" if month else f"{series}: {what}"
