"""Schema-driven fuzzing of the JSON API and feeds from the app's own /openapi.json (schemathesis).

Every operation gets generated valid and invalid input; every answer must be no 5xx, have a
documented status code and content type, and conform to the documented schema. Runs against
the real `cacwatch serve` process over the ingested replica, on SQLite and PostgreSQL.

(Hypothesis drives schemathesis's strategies directly: its pytest plugin does not run on
this pytest version.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode


@pytest.fixture(scope="module")
def operations(web_site: Any) -> dict[str, Any]:
    schema = schemathesis.openapi.from_url(web_site.url + "/openapi.json")
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


OPERATIONS = [
    "GET /api/v1/filings",
    "GET /api/v1/filings/{kind}/{filing_number}",
    "GET /api/v1/lists",
    "GET /api/v1/lists/{kind}/{list_month}",
    "GET /api/v1/entities",
    "GET /api/v1/entities/{entity}",
    "GET /api/v1/changes",
    "GET /api/v1/stats",
    "GET /api/v1/groups",
    "GET /api/v1/groups/{key}",
    "GET /feeds/lists.atom",
    "GET /feeds/lists.json",
    "GET /feeds/filings.atom",
]


def test_the_document_lists_exactly_these_operations(operations: dict[str, Any]) -> None:
    # The accounts and console operations need credentials: fuzzed in tests/test_web_accounts_fuzz.py;
    # the digest subscriptions' in tests/test_web_subscriptions.py.
    from test_web_accounts_fuzz import OPERATIONS as WITH_CREDENTIALS
    from test_web_subscriptions import SUBSCRIPTION_OPERATIONS

    assert sorted(operations) == sorted(OPERATIONS + WITH_CREDENTIALS + SUBSCRIPTION_OPERATIONS)


def _without_cursor(case: Any) -> Any:
    if case.query:
        case.query.pop("cursor", None)
    return case


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("name", OPERATIONS)
def test_operation_conforms_to_the_document(operations: dict[str, Any], name: str, mode: GenerationMode) -> None:
    operation = operations[name]
    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        # A cursor is opaque: a made-up one fits the schema yet is rightly a 400 (tested
        # elsewhere), so valid cases page from the start.
        strategy = strategy.map(_without_cursor)

    @given(case=strategy)
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate()

    run()
