"""Schema-driven fuzzing (schemathesis) of the self-service webhook endpoints' API with the
operator's credentials, against a real `cacwatch serve` process: every answer no 5xx, with a
documented status code and content type, conforming to the documented schema; invalid input
refused. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from storage.db import Database
from webhook_receiver import Receiver

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from test_web_fuzz import ENDPOINT_OPERATIONS
    from web_helpers import serve_process
except ImportError:  # pragma: no cover
    from tests.test_web_fuzz import ENDPOINT_OPERATIONS
    from tests.web_helpers import serve_process

# A URL or date can fit the schema and still be refused: the outbound-URL guard (a private
# address, a host that does not resolve) and the calendar (2026-02-30) are not in it.
JUDGED = {"POST /api/v1/endpoints", "PATCH /api/v1/endpoints/{endpoint_id}", "POST /api/v1/endpoints/{endpoint_id}/replay"}
TOKEN = "fuzz-token-0123456789abcdef0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(database_url: str, tmp_path: Path, receiver: Receiver) -> Iterator[tuple[str, dict[str, Any]]]:
    db = Database(database_url)
    db.migrate()
    db.dispose()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"database": {"url": database_url}, "data_dir": str(tmp_path / "data"),
                        "web": {"auth": {"token": "${CACWATCH_TEST_WEB_TOKEN}", "max_failures": 1000},
                                "sessions": {"client_failures": 10000}}}),
        encoding="utf-8",
    )
    with serve_process(config, env={"CACWATCH_TEST_WEB_TOKEN": TOKEN}) as (base, _):
        # Endpoint 1 and 2 exist (small ids are the ones generated most): a local receiver.
        for _n in range(2):
            made = httpx.post(base + "/api/v1/endpoints", json={"url": receiver.base_url + "/fuzz", "allow_private": True}, headers=AUTH)
            assert made.status_code == 201, made.text
        document = httpx.get(base + "/openapi.json", headers=AUTH).json()
        yield base, document


def test_every_endpoint_operation_conforms_to_the_document(served: tuple[str, dict[str, Any]]) -> None:
    base, document = served
    schema = schemathesis.openapi.from_dict(document)
    operations = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations[f"{operation.method.upper()} {operation.path}"] = operation
    for name in ENDPOINT_OPERATIONS:  # noqa: B007 - each run reads the name it was made for
        # The list takes no input at all: nothing to make invalid.
        modes = [GenerationMode.POSITIVE] if name == "GET /api/v1/endpoints" else [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        for mode in modes:

            @given(case=operations[name].as_strategy(generation_mode=mode))
            @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                excluded = [positive_data_acceptance] if name in JUDGED else []
                case.call_and_validate(base_url=base, headers=AUTH, excluded_checks=excluded)

            run()
