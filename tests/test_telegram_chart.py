"""The list-size chart: a real PNG, small, the new list in the highlight colour."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.delivery.telegram.chart import batch_chart

SIZES = [("2023-06", 41), ("2023-08", 110), ("2023-11", 298), ("2024-02", 487), ("2024-04", 300), ("2024-06", 779)]
HIGHLIGHT_RGB = (0xD1, 0x49, 0x5B)


def _has_colour(png: bytes, rgb: tuple[int, int, int]) -> bool:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return any(colour == rgb for _, colour in image.getcolors(maxcolors=1 << 24) or [])


def test_png_with_the_new_list_highlighted() -> None:
    png = batch_chart(SIZES, "2024-04", "deep_synthesis")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < 200_000  # Telegram photos should stay small
    image = Image.open(io.BytesIO(png))
    assert image.size == (800, 400)
    assert _has_colour(png, HIGHLIGHT_RGB)


def test_no_highlight_when_the_month_is_not_charted() -> None:
    png = batch_chart(SIZES, "1999-01", "genai_service")
    assert png.startswith(b"\x89PNG")
    assert not _has_colour(png, HIGHLIGHT_RGB)


def test_odd_labels_and_many_lists_render() -> None:
    sizes = [(f"{2020 + i // 12}-{i % 12 + 1:02d}", 10 + i) for i in range(60)] + [("2026年5月", 5)]
    png = batch_chart(sizes, "2026年5月", "unknown_kind<script>")
    assert png.startswith(b"\x89PNG")


def test_empty_sizes_refused() -> None:
    with pytest.raises(ValueError):
        batch_chart([], "2024-04", "deep_synthesis")
