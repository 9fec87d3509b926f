"""Schema-driven fuzzing (schemathesis) of the accounts and console API with credentials: every
operation under /api/v1/tokens, /api/v1/users and /api/v1/console gets generated valid and
invalid input from the app's own /openapi.json, sent with an operator's personal API token to a
real `cacwatch serve`; no answer may be a 5xx, an undocumented status or content type, or break
its documented schema. SQLite (the API is the same code on PostgreSQL, covered in process by
tests/test_web_accounts.py and tests/test_web_console.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from bot.web import users as accounts
from storage.db import Database
from web_helpers import running_server

OPERATIONS = [
    "GET /api/v1/tokens",
    "POST /api/v1/tokens",
    "DELETE /api/v1/tokens/{token_id}",
    "GET /api/v1/users",
    "POST /api/v1/users",
    "PATCH /api/v1/users/{user_id}",
    "GET /api/v1/console/sources",
    "GET /api/v1/console/incidents",
    "GET /api/v1/console/holds",
    "GET /api/v1/console/outbox",
    "GET /api/v1/console/subscribers",
    "GET /api/v1/console/totals",
    "GET /api/v1/console/telegram",
    "POST /api/v1/console/holds/{list_id}/confirm",
    "POST /api/v1/console/holds/{list_id}/reject",
    "POST /api/v1/console/outbox/retry",
    "POST /api/v1/console/telegram/test",
]
# Operations that take no input have no invalid input to generate.
_TAKES_INPUT = {name for name in OPERATIONS if "{" in name or name.startswith(("POST", "PATCH")) and not name.endswith("/telegram/test")}
CASES = [(name, GenerationMode.POSITIVE) for name in OPERATIONS] + [
    (name, GenerationMode.NEGATIVE) for name in OPERATIONS if name in _TAKES_INPUT
]
_operators = itertools.count(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    folder = tmp_path_factory.mktemp("accounts-fuzz")
    url = f"sqlite:///{folder / 'fuzz.db'}"
    db = Database(url)
    db.migrate()
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": url}}), encoding="utf-8")
    try:
        with running_server(config) as base:
            yield base, db
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def operations(served: tuple[str, Database]) -> dict[str, Any]:
    schema = schemathesis.openapi.from_url(served[0] + "/openapi.json")
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


def test_the_document_has_these_operations(operations: dict[str, Any]) -> None:
    ours = sorted(name for name in operations if name.split(" ")[1].startswith(("/api/v1/tokens", "/api/v1/users", "/api/v1/console")))
    assert ours == sorted(OPERATIONS)


@pytest.mark.parametrize(("name", "mode"), CASES)
def test_operation_conforms_to_the_document_with_credentials(
    served: tuple[str, Database], operations: dict[str, Any], name: str, mode: GenerationMode
) -> None:
    # A fresh operator per run: one run revoking its own token or filling its token quota must
    # not turn the next into a string of 401s.
    base, db = served
    operator = accounts.add_user(db, f"op{next(_operators)}@example.org", role="operator", password="fuzzing password")
    headers = {"Authorization": f"Bearer {accounts.create_token(db, operator.id, 'fuzz').secret}"}
    strategy = operations[name].as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers)

    run()
