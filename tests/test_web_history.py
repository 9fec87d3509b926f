"""The web app over a store that changes: a re-issued list's rename and cancellation, paging
while new filings arrive, access control, and `cacwatch demo --serve`. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import httpx
import pytest

from scrapers.replica.server import ReplicaServer

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from test_pipeline import REC_2022_10, _reissue
    from web_helpers import ROOT, export_records, ingest, record_key, running_server, write_config
except ImportError:  # pragma: no cover
    from tests.test_pipeline import REC_2022_10, _reissue
    from tests.web_helpers import ROOT, export_records, ingest, record_key, running_server, write_config

CANCELLED = "网信算备110108224236601220017号"
RENAMED = "网信算备110108224236601220025号"
NEW_NAME = "新名字科技有限公司"
# The newest deep-synthesis batch of the replica (as in the demo): withheld, then published.
NEW_BATCH_PAGE = "/2024-01/05/c_1706119043746644.htm"


@pytest.fixture
def config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings: Any) -> Path:
    return write_config(tmp_path / "config.yaml", make_settings(replica, database_url))


def test_history_of_a_reissued_lists_rename_and_cancellation(config: Path, replica: ReplicaServer) -> None:
    ingest(config)
    _reissue(
        replica,
        REC_2022_10,
        {CANCELLED: {"备注": "已注销"}, RENAMED: {"主体名称": NEW_NAME, "备注": "原主体名称“旧”变更为“新名字科技有限公司”"}},
    )
    assert "1 revised" in ingest(config)
    with running_server(config) as base, httpx.Client(base_url=base, timeout=30) as client:
        kind = "algorithm_recommendation"
        cancelled = client.get(f"/api/v1/filings/{kind}/{quote(CANCELLED)}").json()
        assert cancelled["filing"]["status"] == "cancelled"
        change = cancelled["history"][-1]
        assert change["change_type"] == "cancelled"
        assert change["changes"]["status"] == ["active", "cancelled"]
        assert change["list_month"] == "2022-10"
        # The version that made the change is the re-issue: the list's second, current version.
        the_list = client.get(f"/api/v1/lists/{kind}/2022-10").json()
        versions = the_list["list"]["versions"]
        assert len(versions) == 2 and versions[1]["current"]
        assert change["version_id"] == versions[1]["id"] and change["sha256"] == versions[1]["sha256"]
        # Provenance: the filing is in both versions of the list.
        assert {h["version_id"] for h in cancelled["lists"] if h["list_month"] == "2022-10"} == {v["id"] for v in versions}

        renamed = client.get(f"/api/v1/filings/{kind}/{quote(RENAMED)}").json()
        rename = renamed["history"][-1]
        assert rename["change_type"] == "renamed"
        old_name = rename["changes"]["entity"][0]
        assert rename["changes"]["entity"] == [old_name, NEW_NAME] and old_name != NEW_NAME
        assert renamed["filing"]["entity"] == NEW_NAME

        # What the re-issue changed, on the list: exactly those two filings.
        assert {(c["filing_number"], c["change_type"]) for c in the_list["changes"]} == {(CANCELLED, "cancelled"), (RENAMED, "renamed")}
        # The new filer name is searchable at once, and the filer page marks the cancellation.
        # The renamed filing, and the filer's filings still listed under the old name (a
        # filer's search text carries all its names).
        found = client.get("/api/v1/filings", params={"q": NEW_NAME, "limit": 500}).json()["items"]
        assert [r["filing_number"] for r in found if r["entity"] == NEW_NAME] == [RENAMED]
        assert {r["entity"] for r in found} == {NEW_NAME, old_name}
        page = client.get(f"/filings/{kind}/{quote(RENAMED)}").text
        assert old_name in page and NEW_NAME in page and "renamed" in page
        list_page = client.get(f"/lists/{kind}/2022-10").text
        assert CANCELLED in list_page and "已注销" in list_page

        # The feed has the revision, newest first, with its counts.
        response = client.get("/feeds/lists.atom", params={"kind": kind})
        feed = feedparser.parse(response.content, response_headers={"content-type": response.headers["content-type"]})
        assert feed.bozo == 0
        assert "revised" in feed.entries[0].title and feed.entries[0].link.endswith(f"/lists/{kind}/2022-10")
        assert "cancelled: 1" in feed.entries[0].content[0].value and "renamed: 1" in feed.entries[0].content[0].value
        assert len(feed.entries) == 4  # three lists published, one revised


def test_changes_api_gives_every_event_once_in_order(config: Path, replica: ReplicaServer) -> None:
    """GET /api/v1/changes: what a webhook receiver would have got, for tools that poll instead."""
    publish = replica.withhold(NEW_BATCH_PAGE)
    ingest(config)
    with running_server(config) as base, httpx.Client(base_url=base, timeout=30) as client:
        first = client.get("/api/v1/changes").json()
        assert [e["type"] for e in first["items"]] == ["baseline.established"]
        baseline = first["items"][0]
        assert baseline["id"].startswith("evt_") and baseline["seq"] == first["next_after"] > 0
        idle = client.get("/api/v1/changes", params={"after": first["next_after"]}).json()
        assert idle == {"items": [], "next_after": first["next_after"]}  # nothing new: ask again later

        publish()
        ingest(config)
        _reissue(replica, REC_2022_10, {CANCELLED: {"备注": "已注销"}})
        ingest(config)
        seen: list[dict[str, Any]] = []
        after = first["next_after"]
        while True:  # one event a page: the sequence carries the client through
            page = client.get("/api/v1/changes", params={"after": after, "limit": 1}).json()
            if not page["items"]:
                break
            seen += page["items"]
            after = page["next_after"]
        assert [(e["type"], e["data"]["list_month"]) for e in seen] == [("list.published", "2024-01"), ("list.revised", "2022-10")]
        assert [e["seq"] for e in seen] == sorted({e["seq"] for e in seen}) and seen[0]["seq"] > baseline["seq"]
        assert seen[1]["data"]["counts"]["cancelled"] == 1
        only = client.get("/api/v1/changes", params={"type": "list.revised"}).json()
        assert [e["id"] for e in only["items"]] == [seen[1]["id"]]
        for bad in ({"after": "-1"}, {"after": "x"}, {"limit": "0"}, {"type": "list.deleted"}, {"since": "1"}):
            response = client.get("/api/v1/changes", params=bad)
            assert response.status_code == 400 and "error" in response.json(), bad


def test_cursor_visits_every_match_once_while_new_filings_arrive(tmp_path: Path, database_url: str, make_settings: Any) -> None:
    with ReplicaServer() as replica:
        config = write_config(tmp_path / "config.yaml", make_settings(replica, database_url))
        publish = replica.withhold(NEW_BATCH_PAGE)
        ingest(config)
        before = {record_key(r) for r in export_records(config)}
        with running_server(config) as base, httpx.Client(base_url=base, timeout=30) as client:
            for q in [None, "算法"]:
                params: dict[str, Any] = {"limit": 60, **({"q": q} if q else {})}
                seen: list[tuple[str, str]] = []
                page = client.get("/api/v1/filings", params=params).json()
                seen += [record_key(r) for r in page["items"]]
                if q is None:
                    publish()
                    ingest(config)  # new filings are stored while the client pages
                while page["next_cursor"]:
                    page = client.get("/api/v1/filings", params={**params, "cursor": page["next_cursor"]}).json()
                    seen += [record_key(r) for r in page["items"]]
                assert len(seen) == len(set(seen)), "a filing was visited twice"
                after = export_records(config)
                expected = {record_key(r) for r in after if q is None or q in "\n".join([r["name"], r["purpose"], r["entity"], *r["products"]])}
                assert set(seen) == expected
                assert page["total"] == len(expected)
        assert before < {record_key(r) for r in after}


def test_web_auth_token_and_password(tmp_path: Path) -> None:
    """web.auth: a bearer token or a basic password from the environment; nothing without."""
    from bot.settings.config import settings_from_mapping

    settings = settings_from_mapping({"database": {"url": f"sqlite:///{tmp_path / 'auth.db'}"}}, env={})
    config = write_config(
        tmp_path / "config.yaml",
        settings,
        web={"auth": {"token": "${CACWATCH_WEB_TOKEN}", "password": "${CACWATCH_WEB_PASSWORD}"}},
    )
    env = {"CACWATCH_WEB_TOKEN": "t0ken-123-long-enough", "CACWATCH_WEB_PASSWORD": "pässword-long-enough"}
    with running_server(config, env=env) as base, httpx.Client(base_url=base, timeout=30) as client:
        for path in ["/", "/api/v1/lists", "/feeds/lists.atom", "/static/style.css"]:
            refused = client.get(path)
            assert refused.status_code == 401 and "Bearer" in refused.headers["www-authenticate"]
            assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert client.get(path, headers={"Authorization": "Bearer t0ken-123-long-enough"}).status_code == 200
            basic = base64.b64encode("cacwatch:pässword-long-enough".encode()).decode()
            assert client.get(path, headers={"Authorization": f"Basic {basic}"}).status_code == 200
            wrong = base64.b64encode(b"cacwatch:nope").decode()
            assert client.get(path, headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        assert client.get("/api/v1/lists").json() == {"error": "authentication required"}


def test_serve_binds_loopback_unless_told_otherwise(tmp_path: Path) -> None:
    from bot.settings.config import settings_from_mapping

    config = write_config(tmp_path / "config.yaml", settings_from_mapping({"database": {"url": f"sqlite:///{tmp_path / 'x.db'}"}}, env={}))
    with running_server(config) as base:
        assert base.startswith("http://127.0.0.1:")
        assert httpx.get(base + "/api/v1/lists").json() == {"items": []}  # an empty store is fine


def test_demo_serve_leaves_the_app_running_on_the_demo_store(tmp_path: Path) -> None:
    import os
    import re
    import selectors
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--serve", "--port", "0", "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline, url = time.monotonic() + 180, None
        while time.monotonic() < deadline and url is None and process.poll() is None:
            if selector.select(timeout=1):
                line = process.stdout.readline()
                match = re.search(r"serving (http://\S+?)/? ", line)
                url = match.group(1) if match else None
        assert url, process.stderr.read() if process.poll() is not None else "no URL printed"
        overview = httpx.get(url + "/", timeout=30)
        assert overview.status_code == 200 and "境内深度合成服务算法备案清单（2024年1月）" in overview.text
        assert httpx.get(url + "/api/v1/filings", params={"limit": 1}, timeout=30).json()["total"] == 815
    finally:
        process.terminate()
        process.wait(timeout=20)
