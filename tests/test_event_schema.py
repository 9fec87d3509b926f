"""The typed event definitions (bot.changes.event_schema) against the published JSON schema
(docs/webhook-events.schema.json), and the one door from stored JSON to a typed event."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, get_args

import pytest

from bot.changes.event_schema import (
    EVENT_TYPES,
    FINDING_TYPES,
    BaselineCounts,
    BaselineData,
    BaselineEvent,
    ChangedFiling,
    Counts,
    EventPayloadError,
    FilingRecord,
    Finding,
    KindTotals,
    ListEvent,
    ListEventData,
    OperatorAlertData,
    OperatorAlertEvent,
    Part,
    event_from_json,
    findings_from_json,
    operator_alert_from_json,
    split_event,
)
from bot.settings.event_types import OPERATOR_ALERT, WEBHOOK_EVENT_TYPES

try:
    from sample_events import baseline_event, published_event, revised_event
except ImportError:  # run from the repository root
    from tests.sample_events import baseline_event, published_event, revised_event

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "docs" / "webhook-events.schema.json").read_text(encoding="utf-8")
)
DEFS: dict[str, Any] = SCHEMA["$defs"]
# Keys that exist on a typed payload but are never sent nor stored (documented in event_schema).
INTERNAL_KEYS = {"narrowed"}


def _keys(typed: Any) -> tuple[set[str], set[str]]:
    """(all keys, required keys) of a TypedDict."""
    required = set(typed.__required_keys__)
    return required | set(typed.__optional_keys__), required


def _schema_keys(definition: dict[str, Any]) -> tuple[set[str], set[str]]:
    return set(definition["properties"]), set(definition.get("required", ()))


@pytest.mark.parametrize(
    ("typed", "definition"),
    [
        (FilingRecord, DEFS["filingRecord"]),
        (ChangedFiling, DEFS["changedFiling"]),
        (Counts, DEFS["counts"]),
        (ListEventData, DEFS["listEventData"]),
        (Part, DEFS["listEventData"]["properties"]["part"]),
        (BaselineData, DEFS["baselineData"]),
        (BaselineCounts, DEFS["baselineData"]["properties"]["counts"]),
        (KindTotals, DEFS["baselineData"]["properties"]["by_kind"]["additionalProperties"]),
        (ListEvent, SCHEMA),
        (BaselineEvent, SCHEMA),
        (OperatorAlertData, DEFS["operatorAlertData"]),
        (OperatorAlertEvent, SCHEMA),
    ],
    ids=lambda value: getattr(value, "__name__", "schema"),
)
def test_typed_definitions_have_the_schemas_keys(typed: Any, definition: dict[str, Any]) -> None:
    keys, required = _keys(typed)
    schema_keys, schema_required = _schema_keys(definition)
    assert keys - INTERNAL_KEYS == schema_keys
    assert required == schema_required


def test_every_finding_type_has_the_schemas_finding_keys() -> None:
    members = get_args(Finding)
    assert len(members) == len(FINDING_TYPES)
    for member in members:
        keys, required = _keys(member)
        assert (keys, required) == _schema_keys(DEFS["finding"]), member.__name__
    tags = [get_args(member.__annotations__["type"])[0] for member in members]
    assert tags == list(FINDING_TYPES) == DEFS["finding"]["properties"]["type"]["enum"]


def test_event_types_are_the_schemas() -> None:
    assert list(WEBHOOK_EVENT_TYPES) == SCHEMA["properties"]["type"]["enum"]
    assert list(EVENT_TYPES) + [OPERATOR_ALERT] == list(WEBHOOK_EVENT_TYPES)
    assert get_args(OperatorAlertEvent.__annotations__["type"]) == (SCHEMA["allOf"][2]["if"]["properties"]["type"]["const"],)
    list_types = get_args(ListEvent.__annotations__["type"])
    baseline_types = get_args(BaselineEvent.__annotations__["type"])
    assert set(list_types) | set(baseline_types) == set(EVENT_TYPES)
    assert baseline_types == (SCHEMA["allOf"][0]["if"]["properties"]["type"]["const"],)


@pytest.mark.parametrize(
    "event",
    [published_event(3, watchlist=True), revised_event(), baseline_event(), *split_event(published_event(5), max_filings=2)],
    ids=["published", "revised", "baseline", "part1", "part2", "part3"],
)
def test_stored_events_are_read_as_they_were_written(event: Any) -> None:
    stored = json.loads(json.dumps(event, ensure_ascii=False))
    read = event_from_json(stored)
    assert read is stored  # not copied: the webhook body is encoded from it byte for byte
    assert json.dumps(read, ensure_ascii=False) == json.dumps(event, ensure_ascii=False)


def _broken(change: str) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(dict(published_event(2)))
    if change == "type":
        event["type"] = "list.deleted"
    elif change == "id":
        event["id"] = 7
    elif change == "data":
        event["data"] = []
    elif change == "missing":
        del event["data"]["counts"]
    elif change == "sections":
        event["data"]["new"] = {}
    elif change == "finding":
        event["data"]["notable"] = [{"type": "gossip", "zh": "", "en": "", "data": {}}]
    elif change == "finding_keys":
        event["data"]["notable"] = [{"type": "rank", "zh": ""}]
    return event


@pytest.mark.parametrize("change", ["type", "id", "data", "missing", "sections", "finding", "finding_keys"])
def test_json_that_is_not_an_event_is_refused(change: str) -> None:
    with pytest.raises(EventPayloadError):
        event_from_json(_broken(change))


def test_a_baseline_needs_its_totals() -> None:
    event: dict[str, Any] = copy.deepcopy(dict(baseline_event()))
    del event["data"]["by_kind"]
    with pytest.raises(EventPayloadError, match="by_kind"):
        event_from_json(event)


def test_stored_findings_are_checked_too() -> None:
    notable = published_event(3, watchlist=True)["data"]["notable"]
    stored = json.loads(json.dumps(notable))
    assert findings_from_json(stored) is stored
    with pytest.raises(EventPayloadError):
        findings_from_json([{"type": "rank", "zh": "", "en": ""}])
    with pytest.raises(EventPayloadError):
        findings_from_json({"type": "rank"})


def _alert() -> dict[str, Any]:
    return {
        "id": "evt_alert_0123abcd",
        "type": "operator.alert",
        "timestamp": "2026-12-07T10:02:11Z",
        "data": {
            "incident": "source:cac",
            "state": "opened",
            "subject": "[cacwatch] source cac is failing",
            "text": "cacwatch: source cac has failed 3 polls in a row (unreachable).",
            "opened_at": "2026-12-07T10:02:10Z",
            "resolved_at": None,
        },
    }


def test_an_operator_alert_is_read_back_but_never_as_an_event() -> None:
    from webhook_receiver import schema_problems

    alert = _alert()
    assert operator_alert_from_json(alert) is alert
    assert schema_problems(json.dumps(alert).encode()) == []
    with pytest.raises(EventPayloadError, match="unknown event type 'operator.alert'"):
        event_from_json(alert)  # no list notifier ever reads one as a list or baseline event
    with pytest.raises(EventPayloadError, match="not an operator alert"):
        operator_alert_from_json(published_event(1))


@pytest.mark.parametrize(
    "change",
    ["no data", "state", "subject type", "id type"],
)
def test_an_operator_alert_that_is_not_one_is_refused(change: str) -> None:
    alert = _alert()
    if change == "no data":
        del alert["data"]
    elif change == "state":
        alert["data"]["state"] = "closed"
    elif change == "subject type":
        alert["data"]["subject"] = 3
    else:
        alert["id"] = 7
    with pytest.raises(EventPayloadError):
        operator_alert_from_json(alert)
    # The published schema refuses the same bodies.
    from webhook_receiver import schema_problems

    assert schema_problems(json.dumps(alert).encode()) != []
