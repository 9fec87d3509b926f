"""Counts that agree with themselves (issue 14 §3), end to end.

`cacwatch check --once` on the replica delivers to the local webhook receiver and the fake Bot
API: a published list's ``counts.cancelled`` counts its new filings listed already cancelled,
as its 注销 N 项 finding does; a revised list's post tells cancellations and renames as
changes, never as a breakdown of "removed"; a list of more than 500 new filings is one
channel post, however the webhook body is split.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from fake_telegram import FakeTelegram, filing_record, list_event, validate_html
from typer.testing import CliRunner

from bot.app.cli import app
from bot.changes.event_schema import split_event
from bot.delivery.telegram.notifier import TelegramNotifier
from bot.settings.config import TelegramSettings

DS_2023_08_PAGE = "/2023-09/01/c_1695224377544009.htm"  # the 2nd deep-synthesis batch's announcement
REC_2022_10 = "/cms/pub/interact/downloadfile.jsp?filepath=DY7~KEXOOdaogwnGtUO1oioB2ay3IPwCfj~9udOlxp0Njv4oRc451qiDCca1Q7WiKgHZrLcg/AJ~P725"
CANCELLED = "网信算备110108224236601220017号"
RENAMED = "网信算备110108224236601220025号"
CHANNEL = "@cac_test"
runner = CliRunner()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def _telegram(fake: FakeTelegram) -> dict[str, Any]:
    return {"token": fake.token, "api_base_url": fake.base_url, "channel": CHANNEL, "chart": False,
            "max_per_second": 1000, "max_per_minute_per_chat": 60000, "timeout": 5}


def _revise(replica: Any) -> str:
    """Re-issue the 2022-10 list: one filing cancelled, one filer renamed, one row dropped."""
    document = docx.Document(io.BytesIO(replica.read(REC_2022_10)))
    table = document.tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    number, entity, remark = header.index("备案编号"), header.index("主体名称"), header.index("备注")
    dropped = ""
    for row in list(table.rows[1:]):
        cells = row.cells
        value = cells[number].text.strip()
        if value == CANCELLED:
            cells[remark].text = "已注销"
        elif value == RENAMED:
            cells[entity].text = "新名字科技有限公司"
        elif not dropped:
            dropped = value
            table._tbl.remove(row._tr)
    out = io.BytesIO()
    document.save(out)
    replica.replace_file(REC_2022_10, out.getvalue())
    return dropped


def _bodies(receiver: Any) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.on("/hook")]


def _finding(data: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((f for f in data["notable"] if f["type"] == kind), None)


def test_published_and_revised_counts_agree(
    tmp_path: Path, replica: Any, make_settings: Any, receiver: Any, fake: FakeTelegram
) -> None:
    webhooks = [{"url": receiver.base_url + "/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                 "allow_private": True, "timeout": 3}]
    settings = make_settings(replica, f"sqlite:///{tmp_path / 'cacwatch.db'}", webhooks=webhooks,
                             telegram=_telegram(fake))
    settings = settings.model_copy(update={"parse_workers": 0})
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")

    def check() -> None:
        result = runner.invoke(app, ["--config", str(config), "check", "--once"])
        assert result.exit_code == 0, result.output

    publish = replica.withhold(DS_2023_08_PAGE)
    check()  # baseline
    publish()
    check()  # the 2023-08 batch is published
    published = [b for b in _bodies(receiver) if b["type"] == "list.published"]
    assert len(published) == 1
    data = published[0]["data"]
    cancelled_new = [r for r in data["new"] if r["status"] == "cancelled"]
    assert cancelled_new, "the batch lists a filing already cancelled"
    assert data["counts"]["cancelled"] == len(cancelled_new)
    finding = _finding(data, "cancellations")
    assert finding is not None and finding["zh"].startswith(f"注销 {len(cancelled_new)} 项")
    post = validate_html(fake.messages(CHANNEL)[-1].text or "")
    # A cancellation in its own right, never "of which cancelled" (其中…注销) inside the new count.
    assert f"注销 {len(cancelled_new)} 项" in post and not re.search(r"其中[^；\n]*注销", post)

    dropped = _revise(replica)
    check()
    revised = [b for b in _bodies(receiver) if b["type"] == "list.revised"]
    assert len(revised) == 1
    data = revised[0]["data"]
    assert [r["filing_number"] for r in data["removed"]] == [dropped]
    assert data["counts"] | {"rows": 0} == {"new": 0, "changed": 2, "removed": 1, "cancelled": 1, "renamed": 1, "rows": 0}
    post = "\n".join(validate_html(m.text or "") for m in fake.messages(CHANNEL)[-2:])
    assert "变更 2 项，移出 1 项；注销 1 项，主体更名 1 项" in post
    assert "2 changed, 1 removed; 1 cancelled, 1 renamed" in post
    assert not re.search(r"其中[^；\n]*(注销|更名|移出)", post) and "removed (" not in post
    assert not fake.rejected


def _notifier(fake: FakeTelegram) -> TelegramNotifier:
    return TelegramNotifier(TelegramSettings(**_telegram(fake)))


@pytest.mark.parametrize(("new", "changed"), [(620, 0), (520, 30)])
async def test_a_large_list_is_one_channel_post(fake: FakeTelegram, new: int, changed: int) -> None:
    changes = [
        {"kind": "deep_synthesis", "filing_number": f"网信算备1101080000{i:04d}01240011号", "name": f"算法{i}",
         "entity": f"公司{i}", "changes": {"status": ["active", "cancelled"]}}
        for i in range(changed)
    ]
    event = list_event(new=[filing_record(i) for i in range(new)], changed=changes)
    parts = split_event(event, max_filings=500)
    assert len(parts) == 2 and parts[0]["data"]["part"] == {"index": 1, "total": 2}
    notifier = _notifier(fake)
    try:
        for part in parts:
            if notifier.accepts(part):
                await notifier.deliver(part, delivery_id=part["id"])
    finally:
        await notifier.aclose()
    posts = [validate_html(m.text or "") for m in fake.messages(CHANNEL) if m.method == "sendMessage"]
    assert posts
    joined = "\n".join(posts)
    assert "部分" not in joined and "part 1" not in joined.lower()
    assert f"新增备案 {new} 项" in joined and f"{new} new filings" in joined
    if changed:
        # The changes are all in part 2: the post still counts them all (whole list), lists none.
        assert f"变更 {changed} 项" in joined and f"共 {changed} 项" in joined and f"{changed} in all" in joined
    # Split only where Telegram's limit forces it, and then every piece is sent and numbered.
    if len(posts) > 1:
        markers = [re.search(r"\((\d+)/(\d+)\)\s*$", post) for post in posts]
        assert all(markers) and [int(m.group(1)) for m in markers if m] == list(range(1, len(posts) + 1))
    assert not fake.rejected
