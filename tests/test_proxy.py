"""``sources.cac.proxy`` and an unreachable site (issue 20, item 4).

A local HTTP proxy and a local SOCKS5 proxy (tests/proxies.py) carry every request to the
replica: what the replica served and what the proxy relayed are compared request by request.
An unreachable site (a closed port, a server that resets, a timeout, a region refusal, a dead
proxy) gives one line saying what was tried, distinct from the WAF page and from "no change".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bot.app.cli import app
from bot.settings.config import ConfigError, settings_from_mapping
from builders import replica_source
from proxies import HttpProxy, ResettingServer, Socks5Proxy, closed_port
from scrapers.fetch import Blocked, Fetcher, FetchTimeout, HttpStatusError, MemoryValidatorStore, NetworkError, SiteRefused, Unreachable
from scrapers.replica.server import ReplicaServer
from scrapers.sources.cac.discovery import discover
from scrapers.sources.cac.settings import CacSourceSettings

runner = CliRunner()
USER, PASSWORD = "watcher", "s3cret-Pa55"


def _served(replica: ReplicaServer) -> Counter[tuple[str, str]]:
    return Counter((r.method, r.path) for r in replica.requests)


def _carried(proxy: HttpProxy | Socks5Proxy) -> Counter[tuple[str, str]]:
    return Counter(proxy.requests)


@pytest.fixture
def http_proxy() -> Iterator[HttpProxy]:
    with HttpProxy() as proxy:
        yield proxy  # type: ignore[misc]


async def _discover_and_download(settings: CacSourceSettings) -> int:
    """The front door and every list attachment it finds, as a poll reads them."""
    async with Fetcher(settings, MemoryValidatorStore(), backoff_base=0.01) as fetcher:
        found = await discover(fetcher, settings, known_pages=set())
        assert not found.fatal_errors, found.fatal_errors
        for ref in found.lists:
            await fetcher.get_attachment(ref.attachment_url, referer=ref.page_url)
    return len(found.lists)


@pytest.mark.parametrize(
    "kind",
    ["http", "http+auth", "socks5", "socks5+auth", "socks5h"],
)
async def test_every_request_goes_through_the_proxy(replica: ReplicaServer, kind: str) -> None:
    auth = (USER, PASSWORD) if kind.endswith("+auth") else None
    proxy: HttpProxy | Socks5Proxy = HttpProxy(auth) if kind.startswith("http") else Socks5Proxy(auth)
    with proxy:
        if isinstance(proxy, Socks5Proxy):
            url = proxy.url(*(auth or (None, None)), scheme="socks5h" if kind == "socks5h" else "socks5")
        else:
            url = proxy.url(*(auth or (None, None)))
        settings = CacSourceSettings(**replica_source(replica, proxy=url, retries=0))
        lists = await _discover_and_download(settings)
    assert lists >= 5
    served = _served(replica)
    assert sum(served.values()) > lists  # pages and attachments
    # Every request the site answered went through the proxy, and nothing else did.
    assert _carried(proxy) == served
    assert proxy.refused == 0
    assert {t.rsplit(":", 1)[1] for t in proxy.targets} == {replica.base_url.rsplit(":", 1)[1]}


def test_proxy_setting_is_validated_and_never_echoes_its_password() -> None:
    base = {"database": {"url": "sqlite:///x.db"}}
    with pytest.raises(ConfigError) as err:
        settings_from_mapping({**base, "sources": {"cac": {"proxy": f"ftp://{USER}:{PASSWORD}@proxy.example:21"}}}, env={})
    assert "sources.cac.proxy" in str(err.value) and "ftp://***@proxy.example:21" in str(err.value)
    assert PASSWORD not in str(err.value)
    # From the environment; an unset optional variable means "direct".
    settings = settings_from_mapping(
        {**base, "sources": {"cac": {"proxy": "${CAC_PROXY}"}}}, env={"CAC_PROXY": f"socks5h://{USER}:{PASSWORD}@p.example:1080"}
    )
    assert settings.sources.cac.proxy == f"socks5h://{USER}:{PASSWORD}@p.example:1080"
    assert settings_from_mapping({**base, "sources": {"cac": {"proxy": "${CAC_PROXY:-}"}}}, env={}).sources.cac.proxy is None


# --- end to end: `check --once` with the proxy from the environment ---------------------


def _config(tmp_path: Path, replica: ReplicaServer, **cac: Any) -> Path:
    raw = {
        "database": {"url": f"sqlite:///{tmp_path / 'cacwatch.db'}"},
        "data_dir": str(tmp_path / "data"),
        "sources": {"cac": replica_source(replica, retries=1, **cac)},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_check_once_through_an_authenticated_proxy_from_the_environment(
    tmp_path: Path, replica: ReplicaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HttpProxy((USER, PASSWORD)) as proxy:
        assert isinstance(proxy, HttpProxy)
        monkeypatch.setenv("CACWATCH_CAC_PROXY", proxy.url(USER, PASSWORD))
        config = _config(tmp_path, replica, proxy="${CACWATCH_CAC_PROXY}")
        result = runner.invoke(app, ["--config", str(config), "check", "--once"])
        assert result.exit_code == 0, result.output
        # The idle run afterwards goes through it too.
        again = runner.invoke(app, ["--config", str(config), "check", "--once"])
        assert again.exit_code == 0, again.output
    assert "new" in result.stdout
    assert _carried(proxy) == _served(replica) and len(replica.requests) > 10
    assert all(r.header("via") == "1.1 test-proxy" for r in replica.requests)
    assert PASSWORD not in result.output + again.output


# --- an unreachable site ------------------------------------------------------------------


def _check(config: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), "check", "--once"])
    return result.exit_code, result.stderr.strip()


def test_closed_port_is_reported_as_unreachable_with_what_was_tried(tmp_path: Path) -> None:
    port = closed_port()
    dead = ReplicaServer()
    dead._base_url = f"http://127.0.0.1:{port}"  # a replica that never started: nothing listens there
    code, line = _check(_config(tmp_path, dead))
    assert code == 1
    assert len(line.splitlines()) == 1, line
    assert ": unreachable: " in line
    assert f"site unreachable: 127.0.0.1 direct (no proxy), 2 attempts, 5s timeout" in line
    assert "Connect" in line  # the last error, named


def test_server_that_resets_is_reported_as_unreachable(tmp_path: Path) -> None:
    with ResettingServer() as server:
        assert isinstance(server, ResettingServer)
        fake = ReplicaServer()
        fake._base_url = server.base_url
        code, line = _check(_config(tmp_path, fake))
    assert code == 1 and len(line.splitlines()) == 1, line
    assert ": unreachable: " in line and "direct (no proxy), 2 attempts" in line


async def test_timeouts_say_how_long_each_attempt_waited(replica: ReplicaServer) -> None:
    replica.delay = 0.6
    settings = CacSourceSettings(**replica_source(replica, timeout=0.2, retries=1))
    async with Fetcher(settings, MemoryValidatorStore(), backoff_base=0.01) as fetcher:
        with pytest.raises(FetchTimeout) as err:  # still a FetchTimeout for callers that ask
            await fetcher.get_page(replica.url("/"))
    assert isinstance(err.value, Unreachable)
    assert err.value.reason.startswith("site unreachable: 127.0.0.1 direct (no proxy), 2 attempts, 0.2s timeout: ")


async def test_a_dead_proxy_is_named_masked(replica: ReplicaServer) -> None:
    proxy = f"http://{USER}:{PASSWORD}@127.0.0.1:{closed_port()}"
    settings = CacSourceSettings(**replica_source(replica, proxy=proxy, retries=0))
    async with Fetcher(settings, MemoryValidatorStore(), backoff_base=0.01) as fetcher:
        with pytest.raises(NetworkError) as err:
            await fetcher.get_page(replica.url("/"))
    assert isinstance(err.value, Unreachable)
    assert f"via proxy http://***@127.0.0.1:{proxy.rsplit(':', 1)[1]}, 1 attempt," in err.value.reason
    assert PASSWORD not in str(err.value) and not replica.requests


async def test_socks_login_refused_is_unreachable_and_masked(replica: ReplicaServer) -> None:
    with Socks5Proxy((USER, PASSWORD)) as proxy:
        assert isinstance(proxy, Socks5Proxy)
        settings = CacSourceSettings(**replica_source(replica, proxy=proxy.url(USER, "wrong-one"), retries=0))
        async with Fetcher(settings, MemoryValidatorStore(), backoff_base=0.01) as fetcher:
            with pytest.raises(Unreachable) as err:
                await fetcher.get_page(replica.url("/"))
    assert proxy.refused == 1 and not replica.requests
    assert "via proxy socks5://***@127.0.0.1:" in err.value.reason and "wrong-one" not in str(err.value)


def test_region_refusal_waf_and_no_change_are_three_different_lines(tmp_path: Path, replica: ReplicaServer) -> None:
    config = _config(tmp_path, replica)
    replica.fail_status = 403
    code, refused = _check(config)
    replica.fail_status = None
    replica.waf = True
    code_waf, waf = _check(config)
    replica.waf = False
    code_ok, _ = _check(config)
    idle = runner.invoke(app, ["--config", str(config), "check", "--once"])
    assert (code, code_waf, code_ok, idle.exit_code) == (1, 1, 0, 0)
    assert ": unreachable: " in refused and "site refused: 127.0.0.1 direct (no proxy), 1 attempt" in refused
    assert "HTTP 403" in refused and "sources.cac.proxy" in refused
    assert ": blocked: " in waf and "unreachable" not in waf
    assert "0 new" in idle.stdout and "unreachable" not in idle.output


async def test_other_http_errors_are_not_unreachable(replica: ReplicaServer) -> None:
    replica.fail_status = 404
    settings = CacSourceSettings(**replica_source(replica, retries=0))
    async with Fetcher(settings, MemoryValidatorStore(), backoff_base=0.01) as fetcher:
        with pytest.raises(HttpStatusError) as err:
            await fetcher.get_page(replica.url("/"))
    assert not isinstance(err.value, (Unreachable, Blocked)) and err.value.status == 404
    replica.fail_status = 451
    async with Fetcher(settings, MemoryValidatorStore(), backoff_base=0.01) as fetcher:
        with pytest.raises(SiteRefused) as refused:
            await fetcher.get_page(replica.url("/"))
    assert refused.value.status == 451
