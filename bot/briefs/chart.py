"""The chart of a series' list sizes (matplotlib, Agg): PNG for the PDF, DOCX and HTML."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

from bot.briefs.facts import ListSize

__all__ = ["sizes_png"]

# pyplot keeps global state; one chart at a time per process.
_LOCK = threading.Lock()


def sizes_png(sizes: Sequence[ListSize], title: str) -> bytes:
    """Bars of every list's size, oldest first; the brief's subject in a darker colour.
    Labels are ASCII (YYYY-MM and numbers) so no CJK font is needed in the image."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with _LOCK:
        figure = Figure(figsize=(7.0, 2.6), dpi=150)
        axes = figure.subplots()
        months = [s.list_month for s in sizes]
        rows = [s.rows for s in sizes]
        colours = ["#1f3a5f" if s.subject else "#9fb3c8" for s in sizes]
        bars = axes.bar(range(len(sizes)), rows, color=colours)
        axes.bar_label(bars, labels=[f"{r:,}" for r in rows], fontsize=7, padding=2)
        axes.set_xticks(range(len(sizes)), months, rotation=45 if len(sizes) > 8 else 0, fontsize=7)
        axes.tick_params(axis="y", labelsize=7)
        axes.set_title(title, fontsize=9)
        axes.spines[["top", "right"]].set_visible(False)
        axes.margins(y=0.15)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()
