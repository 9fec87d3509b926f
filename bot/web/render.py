"""Jinja2 (autoescaped) rendering of the pages, and the helpers templates use.

Labels are Chinese and English side by side, as in the digests. Nothing here reaches outside
the app: the one stylesheet and the icon are served from /static, the chart is inline SVG
drawn here (presentation attributes only, so the CSP needs no 'unsafe-inline').
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.changes.genai import REGISTRATION_LABELS, registration_label, scenario_en
from bot.changes.vocabulary import FIELD_LABELS, published_label, row_label
from bot.web.labels import GROUP_OPTIONS, KIND_ORDER, kind_label, list_name_en, province_english, value_label

__all__ = ["render", "render_error", "chart_svg", "KIND_ORDER"]

_COLORS = {"deep_synthesis": "#1f6feb", "algorithm_recommendation": "#2da44e", "genai_service": "#bf3989"}
# The one vocabulary's field labels, with the record's identifying fields in front.
_FIELD_LABELS = {
    "kind": ("类别", "kind"),
    "list_month": ("首次列入", "first list"),
    "filing_number": ("备案编号", "filing number"),
    **FIELD_LABELS,
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _filing_url(kind: str, number: str) -> str:
    return f"/filings/{kind}/{quote(number, safe='')}"


def _entity_url(entity: str) -> str:
    return f"/entities/{quote(entity, safe='')}"


def _web_href(url: str | None) -> str:
    """A site link as an href only when it is http(s): a stored ``data:``, ``vbscript:`` or
    ``javascript:`` URL (from a hostile page) becomes a link to nowhere; its text still shows."""
    text = (url or "").strip()
    scheme, colon, _ = text.partition(":")
    return text if colon and scheme.lower() in ("http", "https") and text[len(scheme) :].startswith("://") else "#"


def _query(params: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return urlencode(merged)


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return str(value) or "—"


_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(
    kind_label=kind_label,
    when=_when,
    filing_url=_filing_url,
    entity_url=_entity_url,
    query=_query,
    province_en=province_english,
    field_labels=_FIELD_LABELS,
    value=_value,
    kinds=KIND_ORDER,
    registrations=tuple(REGISTRATION_LABELS),
    registration_label=registration_label,
    scenario_en=scenario_en,
    published_label=published_label,
    row_label=row_label,
    value_label=value_label,
    list_name_en=list_name_en,
    group_options=GROUP_OPTIONS,
)
_env.filters["web_href"] = _web_href


def render(template: str, *, names: dict[str, tuple[str, str | None]] | None = None, **context: Any) -> bytes:
    """``names``: entity → (English name, company), as stored with the search index."""
    known = names or {}
    return (
        _env.get_template(template)
        .render(
            en=lambda entity: known.get(entity, ("", None))[0],
            company=lambda entity: known.get(entity, ("", None))[1],
            **context,
        )
        .encode("utf-8")
    )


def render_error(status: int, message: str) -> bytes:
    return render("error.html", status=status, message=message, title=f"{status}")


def chart_svg(series: dict[str, list[tuple[str, int]]]) -> dict[str, Any]:
    """Geometry of the list-size chart (one polyline per kind over list months), for the template."""
    months = sorted({month for points in series.values() for month, _ in points})
    peak = max((size for points in series.values() for _, size in points), default=0) or 1
    width, height, left, bottom, top, right = 640, 240, 48, 28, 12, 30
    span_x = max(len(months) - 1, 1)

    def x(month: str) -> float:
        return round(left + (width - left - right) * months.index(month) / span_x, 1)

    def y(size: int) -> float:
        return round(height - bottom - (height - bottom - top) * size / peak, 1)

    lines = []
    for kind in KIND_ORDER:
        points = series.get(kind) or []
        if not points:
            continue
        coords = [(x(m), y(s), m, s) for m, s in points]
        lines.append(
            {
                "kind": kind,
                "color": _COLORS[kind],
                "points": " ".join(f"{px},{py}" for px, py, _, _ in coords),
                "dots": coords,
            }
        )
    ticks = [{"y": y(v), "label": v} for v in sorted({0, peak // 2, peak})]
    labels = [{"x": x(m), "label": m} for i, m in enumerate(months) if i % max(1, len(months) // 6) == 0 or i == len(months) - 1]
    return {"width": width, "height": height, "left": left, "bottom": bottom, "lines": lines, "ticks": ticks, "labels": labels, "right": right}
