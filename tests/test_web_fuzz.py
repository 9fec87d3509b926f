"""Schema-driven fuzzing of the JSON API and feeds from the app's own /openapi.json (schemathesis).

Every operation gets generated valid and invalid input; every answer must be no 5xx, have a
documented status code and content type, and conform to the documented schema. Runs against
the real `cacwatch serve` process over the ingested replica, on SQLite and PostgreSQL.

(Hypothesis drives schemathesis's strategies directly: its pytest plugin does not run on
this pytest version.)
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
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

# The self-service webhook endpoints: fuzzed with the operator's credentials in
# tests/test_web_endpoints_fuzz.py (here, without web.auth, each is a documented 401).
ENDPOINT_OPERATIONS = [
    "GET /api/v1/endpoints",
    "POST /api/v1/endpoints",
    "GET /api/v1/endpoints/{endpoint_id}",
    "PATCH /api/v1/endpoints/{endpoint_id}",
    "DELETE /api/v1/endpoints/{endpoint_id}",
    "POST /api/v1/endpoints/{endpoint_id}/test",
    "GET /api/v1/endpoints/{endpoint_id}/attempts",
    "POST /api/v1/endpoints/{endpoint_id}/replay",
    "POST /api/v1/endpoints/{endpoint_id}/rotate-secret",
]



def test_the_document_lists_exactly_these_operations(operations: dict[str, Any]) -> None:
    # The accounts and console operations need credentials: fuzzed in tests/test_web_accounts_fuzz.py;
    # the digest subscriptions' in tests/test_web_subscriptions.py.
    from test_web_accounts_fuzz import OPERATIONS as WITH_CREDENTIALS
    from test_web_subscriptions import SUBSCRIPTION_OPERATIONS

    assert sorted(operations) == sorted(OPERATIONS + WITH_CREDENTIALS + ENDPOINT_OPERATIONS + SUBSCRIPTION_OPERATIONS)


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


# --- the same document under web.auth: security schemes declared, operations secured ------------

TOKEN = "fuzz-token-of-enough-length"
PASSWORD = "fuzz-password-of-enough-length"


@pytest.fixture(scope="module")
def authed_url(web_site: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`cacwatch serve` over the same store with web.auth (token and password, from the environment)."""
    from web_helpers import running_server

    served = yaml.safe_load(Path(web_site.config).read_text(encoding="utf-8"))
    config = tmp_path_factory.mktemp("authed") / "serve.yaml"
    auth = {"token": "${FUZZ_WEB_TOKEN}", "password": "${FUZZ_WEB_PASSWORD}", "max_failures": 1000}
    config.write_text(yaml.safe_dump({"database": served["database"], "web": {"auth": auth}}), encoding="utf-8")
    with running_server(config, env={"FUZZ_WEB_TOKEN": TOKEN, "FUZZ_WEB_PASSWORD": PASSWORD}) as url:
        yield url


def test_the_document_declares_what_web_auth_offers(authed_url: str, web_site: Any) -> None:
    import httpx

    assert httpx.get(authed_url + "/openapi.json").status_code == 401
    document = httpx.get(authed_url + "/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer" and "web.auth.token" in schemes["bearerAuth"]["description"]
    assert "personal API token" in schemes["bearerAuth"]["description"]
    assert schemes["basicAuth"] == {"type": "http", "scheme": "basic", "description": "web.auth.username and web.auth.password"}
    assert schemes["cookieAuth"]["in"] == "cookie"
    operations = {f"{method.upper()} {path}": op for path, ops in document["paths"].items() for method, op in ops.items()}
    assert set(OPERATIONS) <= set(operations)
    assert all(op["security"] == [{"bearerAuth": []}, {"basicAuth": []}, {"cookieAuth": []}] for op in operations.values())
    assert all({"401", "429"} <= set(op["responses"]) for op in operations.values())
    # Without web.auth the read side is public, and the document says so; the self-service
    # operations still act for someone (a personal API token or a session).
    public = web_site.json("/openapi.json")
    for path, ops in public["paths"].items():
        for method, op in ops.items():
            if f"{method.upper()} {path}" in OPERATIONS:
                assert "security" not in op, (method, path)
            else:
                assert op["security"] == [{"bearerAuth": []}, {"cookieAuth": []}], (method, path)
    assert "basicAuth" not in public["components"]["securitySchemes"]


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
@pytest.mark.parametrize("name", OPERATIONS)
def test_secured_operation_conforms_with_either_credential(authed_url: str, name: str, scheme: str) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    schema = schemathesis.openapi.from_url(authed_url + "/openapi.json", headers=bearer)
    operation = next(
        result.ok() for result in schema.get_all_operations() if f"{result.ok().method.upper()} {result.ok().path}" == name
    )
    basic = {"Authorization": "Basic " + base64.b64encode(f"cacwatch:{PASSWORD}".encode()).decode()}
    headers = bearer if scheme == "bearer" else basic
    strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE).map(_without_cursor)

    @given(case=strategy)
    @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers)
        assert response.status_code != 401
        # The same request without credentials is refused, as the document says.
        refused = case.call(headers={"Authorization": ""})
        assert refused.status_code == 401 and refused.json()["error"] == "authentication required"

    run()
