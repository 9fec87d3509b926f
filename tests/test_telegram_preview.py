"""`cacwatch telegram preview KIND MONTH`: the channel's posts of a stored list, as text and as an
HTML page of message bubbles, built by the notifier's own builder, and nothing sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_telegram import FakeTelegram, telegram_settings
from typer.testing import CliRunner

from bot.app.cli import app
from bot.delivery.telegram.preview import PreviewPost, post_html, post_text, preview_page
from scrapers.replica.server import ReplicaServer

runner = CliRunner()
HOSTILE = '<script>alert(1)</script> & "x" <img src=x onerror=alert(2)>'


# --- the page is rebuilt tag by tag -------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def test_only_telegrams_tags_survive_and_every_text_is_escaped() -> None:
    from bot.delivery.telegram.format import esc

    post = (
        f"<b>{esc(HOSTILE)}</b>\n<a href=\"https://www.cac.gov.cn/a?b=1&amp;c=2\">公告</a> · "
        '<a href="javascript:alert(3)">bad</a> <code>网信算备1号</code> <tg-spoiler>s</tg-spoiler>'
    )
    page = preview_page([PreviewPost(post)], f"title {HOSTILE}", f"note {HOSTILE}")
    tags = [tag for tag, _ in _tags(page)]
    assert "script" not in tags and "img" not in tags
    links = [attrs for tag, attrs in _tags(page) if tag == "a"]
    assert links == [{"href": "https://www.cac.gov.cn/a?b=1&c=2", "rel": "noopener noreferrer"}]  # javascript: dropped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "onerror=alert(2)&gt;" in page
    assert "default-src 'none'" in page  # and no script could run anyway
    body = post_html(post)
    assert body.startswith("<b>&lt;script&gt;") and "<code>网信算备1号</code>" in body and '<span class="spoiler">s</span>' in body
    # The terminal: the text as Telegram shows it, each link's target after its label.
    text = post_text(post)
    assert text.startswith(HOSTILE) and "公告 <https://www.cac.gov.cn/a?b=1&c=2>" in text
    assert "bad" in text and "javascript" not in text


def test_a_post_over_telegrams_limit_is_marked() -> None:
    page = preview_page([PreviewPost("x" * 5000), PreviewPost("caption", b"\x89PNG")], "t")
    assert '<span class="over">5000/4096</span>' in page and "7/1024" in page
    assert 'src="data:image/png;base64,iVBORw=="' in page


# --- the command, over the ingested replica -----------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings: Any, fake: FakeTelegram) -> Path:
    telegram = telegram_settings(fake, channel="@cac_test", interactive=False).model_dump(mode="json")
    settings = make_settings(replica, database_url, telegram=telegram, watchlist=["商汤"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["--config", str(path), "check", "--once"])
    assert result.exit_code == 0, result.output
    return path


def test_preview_shows_the_channels_posts_and_sends_nothing(config: Path, fake: FakeTelegram, tmp_path: Path) -> None:
    calls = len(fake.calls)
    page = tmp_path / "preview.html"
    result = runner.invoke(app, ["--config", str(config), "telegram", "preview", "deep_synthesis", "2023-08", "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert len(fake.calls) == calls  # nothing reached the Bot API
    out = result.stdout
    # The chart's photo post first, then the thread, as the channel would get them.
    assert re.search(r"── post 1/\d+ \(photo: list-size chart, caption; \d+/1024 characters\) ──", out)
    assert "── post 2/" in out and "/4096 characters) ──" in out
    assert "110 new filings" in out and "新增备案 110 项" in out
    # The notable individual filings by name (ByteDance's Doubao among the 110: one filing per big-tech group in turn), not only counts.
    assert "Notable new filings" in out and "豆包大模型算法" in out
    # The operator's watchlist (商汤) stays private: notify.telegram.show_watchlist is off.
    assert "关注名单" not in out and "Watchlist" not in out
    assert "<b>" not in out and "&lt;" not in out  # readable text, not Telegram's HTML

    html = page.read_text(encoding="utf-8")
    assert html.count('class="bubble"') == out.count("── post ")
    assert html.count('<img alt="chart" src="data:image/png;base64,') == 1
    assert "豆包大模型算法" in html and "关注名单" not in html
    assert not any(tag == "script" for tag, _ in _tags(html))


def test_preview_refuses_what_it_cannot_show(config: Path) -> None:
    missing = runner.invoke(app, ["--config", str(config), "telegram", "preview", "deep_synthesis", "2019-01"])
    assert missing.exit_code == 1 and "no deep_synthesis list of 2019-01 is stored" in missing.output
    bad_kind = runner.invoke(app, ["--config", str(config), "telegram", "preview", "nonsense", "2023-08"])
    assert bad_kind.exit_code == 2 and "unknown kind" in bad_kind.output
    bad_month = runner.invoke(app, ["--config", str(config), "telegram", "preview", "deep_synthesis", "2023-13"])
    assert bad_month.exit_code == 2 and "expected YYYY-MM" in bad_month.output
    bad_language = runner.invoke(app, ["--config", str(config), "telegram", "preview", "deep_synthesis", "2023-08", "--language", "fr"])
    assert bad_language.exit_code == 2
    english = runner.invoke(app, ["--config", str(config), "telegram", "preview", "deep_synthesis", "2023-08", "--language", "en"])
    assert english.exit_code == 0 and "110 new filings" in english.stdout and "新增备案" not in english.stdout
