"""Diff events end to end: `cacwatch check --once` on the replica, signed webhooks to a local receiver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from standardwebhooks import Webhook
from typer.testing import CliRunner

from bot.app.cli import app
from conftest import WEBHOOK_SECRET
from scrapers.replica.server import ReplicaServer
from test_pipeline import DS_2023_08, REC_2022_10, _reissue
from webhook_receiver import Answer, Receiver

SECRET = WEBHOOK_SECRET
runner = CliRunner()


@pytest.fixture
def config(webhook_config: Path) -> Path:
    return webhook_config


def _check(config: Path) -> Any:
    result = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert result.exit_code == 0, result.output
    return result


def _events(receiver: Receiver) -> list[dict[str, Any]]:
    """Every delivery, verified as a receiver would (signature, timestamp, id)."""
    verifier = Webhook(SECRET)
    events = []
    for request in receiver.on("/hook"):
        headers = {k.lower(): v for k, v in request.headers.items()}
        payload = verifier.verify(request.body, headers)
        events.append({"webhook_id": headers["webhook-id"], **payload})
    return events


BATCH2_PAGE = "/2023-09/01/c_1695224377544009.htm"


def test_first_poll_is_one_baseline_then_idle_sends_nothing(config: Path, receiver: Receiver) -> None:
    _check(config)
    events = _events(receiver)
    assert [e["type"] for e in events] == ["baseline.established"]
    data = events[0]["data"]
    assert data["counts"] == {"lists": 9, "filings": 815}
    assert data["by_kind"]["deep_synthesis"] == {"lists": 3, "filings": 280, "cancelled": 6}
    assert "new" not in data  # never the whole history

    _check(config)
    assert len(_events(receiver)) == 1


def test_new_list_is_published_with_exactly_its_new_filings(
    config: Path, replica: ReplicaServer, receiver: Receiver
) -> None:
    publish = replica.withhold(BATCH2_PAGE)  # the 2023-08 batch is not out yet
    _check(config)
    assert [e["type"] for e in _events(receiver)] == ["baseline.established"]

    publish()
    result = _check(config)
    assert "1 new" in result.stdout
    events = _events(receiver)[1:]
    assert [e["type"] for e in events] == ["list.published"]
    data = events[0]["data"]
    assert data["kind"] == "deep_synthesis" and data["list_month"] == "2023-08" and data["batch"] == 2
    expected = [json.loads(line) for line in (Path(__file__).parent / "data" / "expected.jsonl").read_text().splitlines()]
    first_in_batch = {r["filing_number"] for r in expected if r["kind"] == "deep_synthesis" and r["list_month"] == "2023-08"}
    assert {r["filing_number"] for r in data["new"]} == first_in_batch
    assert data["counts"]["new"] == len(first_in_batch) == 110
    ranks = [f for f in data["notable"] if f["type"] == "rank"]
    assert ranks and ranks[0]["data"] == {"size": 110, "rank": 2, "of": 3, "kind": "deep_synthesis"}
    assert all(f["zh"] and f["en"] for f in data["notable"])


def test_reissue_with_two_cancellations_and_one_rename_is_one_revision(
    config: Path, replica: ReplicaServer, receiver: Receiver
) -> None:
    _check(config)
    first, second, third = (
        "网信算备110108224236601220017号",
        "网信算备110108224236601220025号",
        "网信算备110105033502402220017号",
    )
    _reissue(
        replica,
        REC_2022_10,
        {first: {"备注": "已注销"}, second: {"备注": "已注销"}, third: {"主体名称": "改名后科技有限公司"}},
    )
    _check(config)
    events = _events(receiver)[1:]
    assert [e["type"] for e in events] == ["list.revised"]
    data = events[0]["data"]
    assert data["counts"]["changed"] == 3 and data["counts"]["new"] == 0 and data["counts"]["removed"] == 0
    changes = {c["filing_number"]: c["changes"] for c in data["changed"]}
    assert changes[first]["status"] == ["active", "cancelled"]
    assert changes[second]["remark"][1] == "已注销"
    assert changes[third] == {"entity": [changes[third]["entity"][0], "改名后科技有限公司"]}
    types = {f["type"] for f in data["notable"]}
    assert {"cancellations", "renames"} <= types

    _check(config)  # and nothing more
    assert len(_events(receiver)) == 2


def test_same_rows_new_bytes_sends_nothing(config: Path, replica: ReplicaServer, receiver: Receiver) -> None:
    _check(config)
    _reissue(replica, DS_2023_08, {})
    _check(config)
    assert len(_events(receiver)) == 1


def test_receiver_outage_queues_and_delivers_once_when_back(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    receiver.answers["/hook"] = Answer(status=503)
    result = _check(config)
    assert "1 to retry" in result.stdout
    receiver.answers["/hook"] = Answer(status=200)
    # Time passes: the retry is due.
    from sqlalchemy import update

    from bot.delivery.outbox import utcnow
    from storage.db import Database
    from storage.models_outbox import Delivery

    db = Database(database_url)
    with db.session() as session:
        session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    db.dispose()
    _check(config)
    _check(config)
    events = _events(receiver)
    assert [e["type"] for e in events] == ["baseline.established", "baseline.established"]
    assert events[0]["webhook_id"] == events[1]["webhook_id"]  # the 503'd attempt and the retry: one id
    assert len(receiver.on("/hook")) == 2


def test_blocked_site_sends_nothing(config: Path, replica: ReplicaServer, receiver: Receiver) -> None:
    _check(config)
    replica.waf = True
    result = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert result.exit_code != 0
    assert len(_events(receiver)) == 1


def test_private_target_refused_without_allow_private(
    tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings, receiver: Receiver
) -> None:
    notify = {"webhooks": [{"url": receiver.base_url + "/hook", "secret": SECRET}]}
    settings_error = None
    try:
        settings = make_settings(replica, database_url, **notify)
    except Exception as err:  # noqa: BLE001 - refused at config time is fine too
        settings_error = err
    if settings_error is None:
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
        runner.invoke(app, ["--config", str(path), "check", "--once"])
    assert receiver.received == []


def test_cancellation_notice_cancels_listed_filings_and_invents_none(
    config: Path, replica: ReplicaServer, receiver: Receiver
) -> None:
    """A 注销 notice (table with 注销时间) marks the filings it names; unknown numbers are not invented."""
    from builders import CANCEL_HEADER, make_docx

    _check(config)
    cancelled = "网信算备110101128387701230011号"  # 大麦小蜜智能客服算法, deep synthesis 2023-06
    unknown = "网信算备990101000000001230011号"
    name = "注销深度合成服务算法备案清单（2024年3月）"
    rows = [["1", "大麦小蜜智能客服算法", "北京大麦文化传媒发展有限公司", cancelled, "2024-03-01"],
            ["2", "不存在的算法", "不存在的公司", unknown, "2024-03-01"]]
    key = "/cms/pub/interact/downloadfile.jsp?filepath=cancel~2024~03"
    replica.add_route(key, make_docx(CANCEL_HEADER, rows, title=name), "application/octet-stream")
    title = "国家互联网信息办公室关于注销部分深度合成服务算法备案的公告"
    page = "/2024-03/15/c_1710000000000001.htm"
    replica.set_page(page, (
        f'<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}"></head><body>'
        f'<h1 class="title">{title}</h1><div class="pages-date">2024-03-15 16:00:00</div>'
        f'<div class="TRS_Editor"><p>附件：<a href="{key}&fText=x">{name}</a></p></div></body></html>'
    ))
    channel = replica.read("/wxzw/wxfb/A093702index_1.htm").decode("utf-8")
    item = f'<li><h5><a href="{page}">{title}</a></h5><div class="times">2024-03-15</div></li>'
    replica.set_page("/wxzw/wxfb/A093702index_1.htm", channel.replace('<ul class="list">', '<ul class="list">' + item, 1))

    _check(config)
    events = _events(receiver)[1:]
    assert [e["type"] for e in events] == ["list.published"]
    data = events[0]["data"]
    assert data["counts"]["new"] == 0
    assert [(c["kind"], c["filing_number"], c["changes"]["status"]) for c in data["changed"]] == [
        ("deep_synthesis", cancelled, ["active", "cancelled"])
    ]
    result = runner.invoke(app, ["--config", str(config), "export", "--kind", "deep_synthesis"])
    records = {json.loads(line)["filing_number"]: json.loads(line) for line in result.stdout.splitlines()}
    assert records[cancelled]["status"] == "cancelled"
    assert unknown not in records and len(records) == 280


def test_genai_counts_split_new_filings() -> None:
    from bot.ingest.events import genai_counts

    new = [
        {"filing_number": "Beijing-A-20240101", "registration": "filed", "scenario": None},
        {"filing_number": "Shanghai-Apple-202607010001", "registration": "filed", "scenario": "苹果手机"},
        {"filing_number": "Guangdong-Dr.GDCDC-20260706S0054", "registration": "registered", "scenario": None},
        # Stored before the parser set registration: the 上线编号's form tells.
        {"filing_number": "Zhejiang-B-20250101S0002"},
        {"filing_number": "Zhejiang-C-202501010003"},
    ]
    assert genai_counts(new) == {"filed": 3, "registered": 2, "on_device": 1}
    assert genai_counts([]) == {"filed": 0, "registered": 0, "on_device": 0}
