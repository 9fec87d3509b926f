"""plain_summary: the text every text channel sends."""

from __future__ import annotations

import pytest

from bot.delivery.notifiers.text import plain_summary, summary_title
from bot.delivery.notifiers.webhook import split_event

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from sample_events import baseline_event, published_event, revised_event
except ImportError:  # pragma: no cover
    from tests.sample_events import baseline_event, published_event, revised_event


def test_published_event_both_languages() -> None:
    event = published_event(608, watchlist=True)
    text = plain_summary(event)
    lines = text.splitlines()
    assert lines[0] == "新名单：深度合成服务算法 2026-05 · New list: Deep synthesis algorithms 2026-05"
    assert event["data"]["title"] in lines and event["data"]["name"] in lines
    assert "新增 608 · 变更 0 · 移除 0" in lines
    assert "New 608 · changed 0 · removed 0" in lines
    for finding in event["data"]["notable"]:
        assert f"• {finding['zh']}" in lines
        assert f"  {finding['en']}" in lines
        # the English line sits right under its Chinese line
        assert lines.index(f"  {finding['en']}") == lines.index(f"• {finding['zh']}") + 1
    assert lines[-2:] == [event["data"]["page_url"], event["data"]["attachment_url"]]
    assert "<" not in text and "*" not in text  # plain text, no markup


def test_single_language() -> None:
    event = published_event(5)
    zh, en = plain_summary(event, "zh"), plain_summary(event, "en")
    assert "新增 5" in zh and "New 5" not in zh and "Alibaba" not in zh
    assert "New 5 · changed 0 · removed 0" in en and "新增" not in en and "阿里巴巴：2项。" not in en
    assert event["data"]["page_url"] in zh and event["data"]["page_url"] in en
    with pytest.raises(ValueError):
        plain_summary(event, "fr")  # type: ignore[arg-type]


def test_revised_event() -> None:
    text = plain_summary(revised_event(n_changed=3, n_removed=1), "en")
    assert text.startswith("List revised: Deep synthesis algorithms 2026-05")
    assert "New 0 · changed 3 · removed 1" in text


def test_baseline_event_totals_per_kind() -> None:
    text = plain_summary(baseline_event())
    lines = text.splitlines()
    assert lines[0] == "基线建立 · Baseline established"
    assert "已记录 24 份名单、3210 项备案。" in lines
    assert "24 lists and 3,210 filings on record." in lines
    assert "• 深度合成服务算法：16 份名单，2900 项备案（已注销 12）" in lines
    assert "  Deep synthesis algorithms: 16 lists, 2,900 filings (12 cancelled)" in lines
    assert "  Recommendation algorithms: 1 list, 130 filings" in lines
    assert "http" not in text  # a baseline has no page


def test_parts_are_labelled_and_titles_stay_on_one_line() -> None:
    event = published_event(3)
    event["data"]["title"] = "第一行\n第二行\r\n<script>alert(1)</script>"
    first, second = split_event(event, max_filings=2)
    assert summary_title(second, "en") == "New list: Deep synthesis algorithms 2026-05 (part 2 of 2)"
    assert "（第1/2部分）" in summary_title(first, "zh")
    assert "第一行 第二行 <script>alert(1)</script>" in plain_summary(first).splitlines()
