"""Per-filing events and the event sequence, end to end: `cacwatch check --once` on the replica,
signed webhooks verified by a real local receiver (standardwebhooks), /api/v1/changes and
`cacwatch export --changes` telling the same sequence."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update
from standardwebhooks import Webhook
from typer.testing import CliRunner

from bot.app.cli import app
from bot.settings.config import WebhookSettings, load_settings
from bot.changes.event_schema import FilingRecord, ListEvent
from bot.ingest.events import MAX_FILINGS_PER_EVENT, filing_events
from bot.delivery.notifiers.webhook import WebhookNotifier
from bot.delivery.outbox import deliver_until_idle, enqueue_many, filing_event_types, replay, utcnow
from conftest import WEBHOOK_SECRET
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.models_outbox import Delivery, OutboxEvent
from test_events import BATCH2_PAGE, publish_cancellation_notice, reissue_two_cancelled_one_renamed
from test_pipeline import REC_2022_10, _reissue
from webhook_receiver import Answer, Receiver

runner = CliRunner()
EVERY_TYPE = ["list.published", "list.revised", "filing.new", "filing.cancelled", "filing.renamed", "watchlist.matched"]


@pytest.fixture
def config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings, receiver: Receiver) -> Path:  # type: ignore[no-untyped-def]
    """Two endpoints: /hook asks for every event type, /lists for the list events only."""
    hook = {"url": receiver.base_url + "/hook", "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3, "events": EVERY_TYPE}
    lists = {"url": receiver.base_url + "/lists", "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3}
    settings = make_settings(replica, database_url, webhooks=[hook, lists], watchlist=["商汤"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


def _check(config: Path) -> None:
    result = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert result.exit_code == 0, result.output


def _bodies(receiver: Receiver, path: str) -> list[dict[str, Any]]:
    """Every delivery to ``path``, verified as a receiver would (signature, timestamp, id)."""
    verifier = Webhook(WEBHOOK_SECRET)
    bodies = []
    for request in receiver.on(path):
        headers = {k.lower(): v for k, v in request.headers.items()}
        bodies.append({"webhook_id": headers["webhook-id"], **verifier.verify(request.body, headers)})
    assert receiver.schema_errors == []
    return bodies


def _stored_types(database_url: str) -> list[str]:
    db = Database(database_url)
    with db.session() as session:
        types = list(session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)))
    db.dispose()
    return types


def test_new_list_makes_one_filing_event_per_new_filing_for_the_endpoint_that_asked(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    publish = replica.withhold(BATCH2_PAGE)
    _check(config)  # the first poll: a baseline, and never one event per filing of the history
    assert _stored_types(database_url) == ["baseline.established"]
    assert [b["type"] for b in _bodies(receiver, "/lists")] == ["baseline.established"]
    assert _bodies(receiver, "/hook") == []  # it asked for list and filing events, not the baseline

    publish()
    _check(config)
    hook = sorted(_bodies(receiver, "/hook"), key=lambda b: b["seq"])
    listed = [b for b in hook if b["type"] == "list.published"]
    assert len(listed) == 1
    published = listed[0]
    new_numbers = [r["filing_number"] for r in published["data"]["new"]]
    assert len(new_numbers) == 110

    filing_new = [b for b in hook if b["type"] == "filing.new"]
    assert [b["data"]["filing"]["filing_number"] for b in filing_new] == new_numbers  # one each, in order
    assert [b["id"] for b in filing_new] == [f"{published['id']}-new-{i}" for i in range(1, 111)]
    assert {b["data"]["list_event"] for b in filing_new} == {published["id"]}
    assert all(b["data"]["filing"] == record for b, record in zip(filing_new, published["data"]["new"]))
    # The sequence: the list event first, then its filings, every number distinct and growing.
    seqs = [b["seq"] for b in hook]
    assert seqs == sorted(set(seqs)) and seqs[0] == published["seq"]
    assert len({b["webhook_id"] for b in hook}) == len(hook)

    # Watchlist hits (商汤: 8 filings in this batch) as events of their own, and marked on filing.new.
    watched = [b for b in hook if b["type"] == "watchlist.matched"]
    assert len(watched) == 8 and all("商汤" in b["data"]["hit"]["entity"] for b in watched)
    assert sum(1 for b in filing_new if "hit" in b["data"]) == 8

    # The endpoint that did not ask gets the list event only.
    assert [b["type"] for b in _bodies(receiver, "/lists")] == ["baseline.established", "list.published"]
    assert [b["seq"] for b in _bodies(receiver, "/lists")][1] == published["seq"]

    # /api/v1/changes tells the same sequence; without web.auth the watchlist hits stay out.
    token = "a-token-of-enough-length"
    public, private = _changes(database_url), _changes(database_url, auth={"token": token}, token=token)
    assert [(i["seq"], i["id"]) for i in private if i["type"] != "baseline.established"] == [(b["seq"], b["id"]) for b in hook]
    assert [i["data"] for i in private if i["id"] == filing_new[0]["id"]] == [filing_new[0]["data"]]
    assert [i["seq"] for i in public] == [i["seq"] for i in private if i["type"] != "watchlist.matched"]
    assert all("hit" not in i["data"] for i in public)
    assert all(f["type"] != "watchlist" for i in public for f in i["data"].get("notable", []))
    assert any(f["type"] == "watchlist" for i in private for f in i["data"].get("notable", []))
    # Nor do the feeds name the watchlist's hits (8 商汤 filings in this batch, 关注名单命中 in the event).
    feed = _get(database_url, "/feeds/lists.atom")
    assert "第二批" in feed or "2023" in feed
    assert "关注名单" not in feed and "Watchlist" not in feed

    # `export --changes`: each change names the event that announced it.
    result = runner.invoke(app, ["--config", str(config), "export", "--changes", "--kind", "deep_synthesis"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    announced = [r for r in rows if r["filing_number"] in set(new_numbers) and r["change"] == "created" and r["list_month"] == "2023-08"]
    assert len(announced) == 110
    assert {(r["event_id"], r["seq"]) for r in announced} == {(published["id"], published["seq"])}
    # History from the baseline poll was announced by no list event.
    baseline_rows = [r for r in rows if r["list_month"] != "2023-08"]
    assert baseline_rows and all(r["event_id"] is None and r["seq"] is None for r in baseline_rows)


def _get(database_url: str, path: str) -> str:
    """One page of the web app over this database, without web.auth."""
    import httpx

    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    db = Database(database_url)
    app = create_app(db, web=WebSettings(), refresh_in_child=False)

    async def get() -> str:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get(path)
            assert response.status_code == 200, response.text[:300]
            return response.text

    try:
        return asyncio.run(get())
    finally:
        db.dispose()


def _changes(database_url: str, token: str | None = None, **web: Any) -> list[dict[str, Any]]:
    """Every item of /api/v1/changes, page by page, from the web app over this database."""
    import httpx

    from bot.settings.config import WebSettings
    from bot.web.app import create_app

    db = Database(database_url)
    app = create_app(db, web=WebSettings(**web), refresh_in_child=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def pages() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as http:
            after = 0
            while True:
                page = (await http.get("/api/v1/changes", params={"after": after, "limit": 100})).json()
                items += page["items"]
                if page["next_after"] == after:
                    return items
                after = page["next_after"]

    try:
        return asyncio.run(pages())
    finally:
        db.dispose()


def test_cancellations_and_renames_are_events_of_their_own_with_their_changes(
    config: Path, replica: ReplicaServer, receiver: Receiver
) -> None:
    _check(config)
    first, second, third = reissue_two_cancelled_one_renamed(replica)
    _check(config)
    hook = sorted(_bodies(receiver, "/hook"), key=lambda b: b["seq"])
    assert [b["type"] for b in hook] == ["list.revised", "filing.cancelled", "filing.cancelled", "filing.renamed"]
    revised, *per_filing = hook
    cancelled = {b["data"]["filing"]["filing_number"]: b for b in per_filing if b["type"] == "filing.cancelled"}
    assert set(cancelled) == {first, second}
    assert all(b["data"]["filing"]["status"] == "cancelled" for b in cancelled.values())
    assert cancelled[first]["data"]["changes"]["status"] == ["active", "cancelled"]
    renamed = per_filing[-1]["data"]
    assert renamed["filing"]["filing_number"] == third and renamed["filing"]["entity"] == "改名后科技有限公司"
    assert renamed["changes"]["entity"][1] == "改名后科技有限公司"
    assert {b["data"]["list_event"] for b in per_filing} == {revised["id"]}
    assert [b["id"] for b in per_filing] == [f"{revised['id']}-cancelled-1", f"{revised['id']}-cancelled-2", f"{revised['id']}-renamed-1"]

    _check(config)  # and nothing more
    assert len(_bodies(receiver, "/hook")) == 4


def test_a_cancellation_notice_cancels_by_filing_and_names_no_unknown_number(
    config: Path, replica: ReplicaServer, receiver: Receiver
) -> None:
    _check(config)
    cancelled, unknown = publish_cancellation_notice(replica)
    _check(config)
    hook = sorted(_bodies(receiver, "/hook"), key=lambda b: b["seq"])
    assert [b["type"] for b in hook] == ["list.published", "filing.cancelled"]
    notice, event = hook
    assert event["data"]["kind"] == "deep_synthesis" and event["data"]["list_month"] == "2024-03"
    assert event["data"]["filing"]["filing_number"] == cancelled and event["data"]["filing"]["status"] == "cancelled"
    assert event["data"]["filing"]["list_month"] == "2023-06"  # the filing's own first list
    assert event["data"]["changes"]["status"] == ["active", "cancelled"] and event["data"]["list_event"] == notice["id"]
    assert unknown not in json.dumps(event, ensure_ascii=False)
    result = runner.invoke(app, ["--config", str(config), "export", "--changes", "--since", "2000-01-01"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    (change,) = [r for r in rows if r["filing_number"] == cancelled and r["change"] == "cancelled"]
    assert (change["event_id"], change["seq"]) == (notice["id"], notice["seq"])


def test_retries_and_replays_keep_a_filing_events_webhook_id(
    config: Path, replica: ReplicaServer, receiver: Receiver, database_url: str
) -> None:
    _check(config)
    _reissue(replica, REC_2022_10, {"网信算备110105033502402220017号": {"主体名称": "改名后科技有限公司"}})
    receiver.answers["/hook"] = Answer(status=503)
    _check(config)
    failed = _bodies(receiver, "/hook")
    assert sorted(b["type"] for b in failed) == ["filing.renamed", "list.revised"]

    receiver.answers["/hook"] = Answer(status=200)
    db = Database(database_url)
    with db.session() as session:
        session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    db.dispose()
    _check(config)
    bodies = _bodies(receiver, "/hook")
    renamed = [b for b in bodies if b["type"] == "filing.renamed"]
    assert len(renamed) == 2 and renamed[0]["webhook_id"] == renamed[1]["webhook_id"]
    assert renamed[0]["seq"] == renamed[1]["seq"] and renamed[0]["id"] == renamed[1]["id"]

    # A replay with --resend sends it once more, under the same webhook-id.
    settings = load_settings(config)
    notifier = WebhookNotifier(settings.notify.webhooks[0])
    db = Database(database_url)
    done = replay(db, notifier, since=datetime.now(timezone.utc) - timedelta(hours=1), resend=True)
    assert done.queued == 2  # list.revised and filing.renamed (the baseline is not for this endpoint)

    async def deliver() -> None:
        try:
            await deliver_until_idle(db, {notifier.destination: notifier}, max_wait=10)
        finally:
            await notifier.aclose()

    asyncio.run(deliver())
    db.dispose()
    renamed = [b for b in _bodies(receiver, "/hook") if b["type"] == "filing.renamed"]
    assert len(renamed) == 3 and len({b["webhook_id"] for b in renamed}) == 1


def _record(number: int) -> FilingRecord:
    return {
        "kind": "deep_synthesis", "list_month": "2024-08", "filing_number": f"网信算备1101080000000{number:04d}号",
        "name": f"算法{number}", "entity": "某科技有限公司", "role": None, "category": None, "products": [],
        "purpose": "", "province": None, "remark": "", "status": "active", "filed_on": None,
    }  # fmt: skip


def _big_event() -> ListEvent:
    new = [_record(i) for i in range(779)]
    return {
        "id": "evt_0123456789abcdef0123456789abcdef", "type": "list.published", "timestamp": "2026-05-06T08:01:02Z",
        "data": {
            "kind": "deep_synthesis", "list_month": "2024-08", "title": "", "name": "", "batch": 5, "page_url": "",
            "attachment_url": "", "counts": {"new": 779, "changed": 0, "removed": 0}, "new": new, "changed": [],
            "removed": [], "notable": [],
        },
    }  # fmt: skip


def test_a_779_row_batch_makes_779_filing_events_whatever_the_number_of_endpoints(database: Database) -> None:
    asking = [
        WebhookNotifier(WebhookSettings(url=f"https://hooks{i}.example.org/in", secret=WEBHOOK_SECRET, events=["filing.new"]))
        for i in range(3)
    ]
    silent = WebhookNotifier(WebhookSettings(url="https://lists.example.org/in", secret=WEBHOOK_SECRET))
    event = _big_event()
    with database.session() as session:
        assert filing_events(session, event, filing_event_types([silent])) == []  # nobody asked: none made
        made = filing_events(session, event, filing_event_types([*asking, silent]))
        assert len(made) == 779 and len({e["id"] for e in made}) == 779
        # Split over two bodies of 500: each filing names the part that carries it.
        assert MAX_FILINGS_PER_EVENT == 500
        assert [e["data"]["list_event"] for e in made[499:501]] == [f"{event['id']}-p1", f"{event['id']}-p2"]
        written = enqueue_many(session, made, [*asking, silent])
    assert len(written) == 779 and all(count == 3 for _, count in written)  # one per asking endpoint
    with database.session() as session:
        assert session.scalar(select(Delivery.id).where(Delivery.destination == silent.destination)) is None
        types = set(session.scalars(select(OutboxEvent.type)))
    assert types == {"filing.new"}


def test_filters_apply_to_filing_events() -> None:
    kinds = WebhookSettings(url="https://a.example.org/", secret=WEBHOOK_SECRET, events=["filing.new"], kinds=["genai_service"])
    watch_only = WebhookSettings(url="https://b.example.org/", secret=WEBHOOK_SECRET, events=["filing.new"], watchlist_only=True)
    event: Any = {"id": "evt_x-new-1", "type": "filing.new", "timestamp": "2026-05-06T08:01:02Z",
                  "data": {"kind": "deep_synthesis", "list_month": "2024-08", "list_event": "evt_x", "filing": _record(1)}}  # fmt: skip
    assert not WebhookNotifier(kinds).accepts_filing(event)
    assert not WebhookNotifier(watch_only).accepts_filing(event)
    hit = {"pattern": "某科技", "entity": "某科技有限公司", "filing_number": _record(1)["filing_number"], "name": "算法1", "score": 100.0}
    assert WebhookNotifier(watch_only).accepts_filing({**event, "data": {**event["data"], "hit": hit}})
    # A list event filter never lets per-filing events through by default.
    plain = WebhookNotifier(WebhookSettings(url="https://c.example.org/", secret=WEBHOOK_SECRET))
    assert plain.filing_event_types == frozenset() and not plain.accepts_filing(event)


def test_only_webhooks_may_ask_for_filing_events() -> None:
    from pydantic import ValidationError

    from bot.settings.config import AppriseSettings

    with pytest.raises(ValidationError, match="unknown event type 'filing.new'"):
        AppriseSettings(urls=["json://localhost/"], events=["filing.new"])
    with pytest.raises(ValidationError, match="unknown event type 'filing.gone'"):
        WebhookSettings(url="https://a.example.org/", secret=WEBHOOK_SECRET, events=["filing.gone"])
