"""A bar chart of list sizes over time for one kind, the new list highlighted (PNG bytes).

matplotlib is used through ``Figure`` + the Agg canvas directly, never ``pyplot``: no global
state, safe in worker threads, no display needed. Labels are ASCII so no CJK font is needed
on the server (the Chinese story is told in the post itself).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.changes.vocabulary import KIND_CHART_TITLES

__all__ = ["batch_chart", "CHART_KIND_TITLES"]

CHART_KIND_TITLES: dict[str, str] = dict(KIND_CHART_TITLES)

_BASE = "#9db4cc"
_HIGHLIGHT = "#d1495b"


def _ascii(text: str) -> str:
    # A label with a character no bundled font has would render as boxes (and warn).
    return text.encode("ascii", "replace").decode("ascii")


def batch_chart(sizes: Sequence[tuple[str, int]], highlight_month: str, kind: str) -> bytes:
    """PNG of ``(list_month, rows)`` bars, oldest first; the last bar of ``highlight_month`` stands out."""
    if not sizes:
        raise ValueError("no list sizes to chart")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    months = [_ascii(str(month)) for month, _ in sizes]
    values = [int(rows) for _, rows in sizes]
    highlight = max((i for i, (month, _) in enumerate(sizes) if month == highlight_month), default=None)

    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    colors = [_HIGHLIGHT if i == highlight else _BASE for i in range(len(values))]
    bars = axes.bar(range(len(values)), values, color=colors, width=0.7)
    if highlight is not None:
        bar = bars[highlight]
        axes.annotate(
            f"{values[highlight]} ({months[highlight]})",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
            fontweight="bold",
            color=_HIGHLIGHT,
        )
    axes.set_xticks(range(len(values)))
    # Many lists: label every n-th bar so the labels never overlap.
    step = max(1, len(values) // 12)
    axes.set_xticklabels([m if i % step == 0 or i == highlight else "" for i, m in enumerate(months)],
                         rotation=45, ha="right", fontsize=8)
    axes.set_ylabel("filings in the list")
    axes.set_title(_ascii(f"{CHART_KIND_TITLES.get(kind, kind)}: list sizes"), fontsize=11)
    axes.set_ylim(0, max(values) * 1.15 + 1)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
