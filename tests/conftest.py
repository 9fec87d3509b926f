"""Shared fixtures. Keep each fixture small and documented; other modules add theirs here."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.settings.config import CacSourceSettings
from builders import replica_source
from scrapers.replica.server import ReplicaServer

if TYPE_CHECKING:
    from bot.settings.config import Settings
    from storage.db import Database
    from smtp_sink import Sink
    from webhook_receiver import Receiver


@pytest.fixture
def replica() -> Iterator[ReplicaServer]:
    """A fresh local replica of the CAC site (bundled sample), free to mutate."""
    with ReplicaServer() as server:
        yield server


@pytest.fixture(scope="session")
def replica_readonly() -> Iterator[ReplicaServer]:
    """One replica for the whole session: only for tests that never mutate it."""
    with ReplicaServer() as server:
        yield server


@pytest.fixture
def cac_settings_for() -> Callable[..., CacSourceSettings]:
    """Settings pointing at a replica, fast defaults (no politeness pause)."""

    def make(server: ReplicaServer, **overrides: Any) -> CacSourceSettings:
        return CacSourceSettings(**replica_source(server, **{"retries": 2, **overrides}))

    return make


@pytest.fixture
def cac_settings(replica: ReplicaServer, cac_settings_for: Callable[..., CacSourceSettings]) -> CacSourceSettings:
    """Settings for the function-scoped ``replica``."""
    return cac_settings_for(replica)


# --- a local webhook receiver (tests/webhook_receiver.py) ---------------------------------------


@pytest.fixture
def receiver() -> Iterator["Receiver"]:
    """A real local HTTP receiver recording every request; answers are set per path."""
    from webhook_receiver import running_receiver

    with running_receiver() as server:
        yield server


# --- a real SMTP server (tests/smtp_sink.py: aiosmtpd on 127.0.0.1) -------------------------------


@pytest.fixture
def sink() -> "Sink":
    """Every message the ``smtp`` server accepts (and the recipients it refuses)."""
    from smtp_sink import Sink

    return Sink()


@pytest.fixture
def smtp(sink: "Sink") -> Iterator[int]:
    """aiosmtpd on a free local port, keeping what it accepts in ``sink``; yields the port."""
    from smtp_sink import smtp_server

    with smtp_server(sink) as port:
        yield port


# --- databases: every storage-touching test runs on SQLite and on the machine's PostgreSQL ---

POSTGRES_URL = os.environ.get(
    "CACWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_policy(env: Mapping[str, str], problem: str | None) -> str:
    """``use`` the server, ``skip`` the PostgreSQL half (a laptop without PostgreSQL), or
    ``fail`` (CI=true or CACWATCH_TEST_POSTGRES_URL set: the PostgreSQL half is required)."""
    if problem is None:
        return "use"
    required = env.get("CI", "").lower() in ("true", "1") or bool(env.get("CACWATCH_TEST_POSTGRES_URL"))
    return "fail" if required else "skip"


_postgres_checked: list[str | None] = []  # [problem] once checked: one probe per session
_postgres_skipped: list[str] = []


def _postgres_problem() -> str | None:
    if not _postgres_checked:
        import sqlalchemy as sa

        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        try:
            with engine.connect():
                _postgres_checked.append(None)
        except Exception as err:  # noqa: BLE001 - any failure means "no usable server"
            _postgres_checked.append(f"{err.__class__.__name__}: {str(err).splitlines()[0][:120]}")
        finally:
            engine.dispose()
    return _postgres_checked[0]


def _postgres_where() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def require_postgres() -> None:
    problem = _postgres_problem()
    policy = postgres_policy(os.environ, problem)
    if policy == "fail":
        pytest.fail(f"PostgreSQL is required here (CI or CACWATCH_TEST_POSTGRES_URL) but unusable: {problem}", pytrace=False)
    if policy == "skip":
        _postgres_skipped.append(problem or "")
        pytest.skip(f"PostgreSQL half skipped: no server at {_postgres_where()} (CI requires it)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _postgres_skipped:
        terminalreporter.write_line(
            f"PostgreSQL half skipped ({len(_postgres_skipped)} tests): no usable server at {_postgres_where()} "
            f"({_postgres_skipped[0]}); start one or set CACWATCH_TEST_POSTGRES_URL (CI=true requires it)"
        )


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A URL of the machine's PostgreSQL pointing at a new, empty schema, dropped afterwards."""
    import sqlalchemy as sa

    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cacwatch.db'}"
        return
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator["Database"]:
    from storage.db import Database

    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., "Settings"]:
    """Full Settings for a replica and a database, with fast politeness for tests."""
    from bot.settings.config import settings_from_mapping

    def make(server: ReplicaServer, database_url: str, **notify: Any) -> "Settings":
        return settings_from_mapping(
            {
                "database": {"url": database_url},
                "data_dir": str(tmp_path / "data"),
                # revalidate_interval 0: every `check --once` re-checks every known list, as
                # these tests expect (tests/test_cron_tiers.py covers cron keeping the tiers).
                "sources": {"cac": replica_source(server, retries=1, concurrency=2, revalidate_interval=0)},
                "notify": notify,
            },
            env={},
        )

    return make


WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes


@pytest.fixture
def webhook_config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings, receiver) -> Path:  # type: ignore[no-untyped-def]
    """A config.yaml for the replica and a database, with one signed webhook to ``receiver``."""
    import yaml

    notify = {
        "webhooks": [{"url": receiver.base_url + "/hook", "secret": WEBHOOK_SECRET, "allow_private": True, "timeout": 3}]
    }
    settings = make_settings(replica, database_url, **notify)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


# --- the web app (`cacwatch serve`) over the ingested replica, one per module and database ------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def web_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running `cacwatch serve` over the bundled replica (web_helpers.Site), read-only for tests."""
    from web_helpers import served_replica

    tmp = tmp_path_factory.mktemp(f"web-{request.param}")
    if request.param == "sqlite":
        with served_replica(f"sqlite:///{tmp / 'web.db'}", tmp) as site:
            yield site
        return
    with fresh_postgres_schema() as url, served_replica(url, tmp) as site:
        yield site
