"""What a reader is shown, and can trust: cacwatch's archived copy of each list version's file
(sha256-checked, named safely, missing or damaged copies refused with CAC's link), the list's
date (published vs first seen on a page updated in place) and rows numbered by their printed
序号. Over the served replica with a re-issue, through `cacwatch serve`; SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import feedparser
import httpx
import pytest
import yaml

from scrapers.replica.server import ReplicaServer

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from test_pipeline import REC_2022_10, _reissue
    from web_helpers import ingest, running_server, write_config
except ImportError:  # pragma: no cover
    from tests.test_pipeline import REC_2022_10, _reissue
    from tests.web_helpers import ingest, running_server, write_config

KIND = "algorithm_recommendation"
RENAMED = "网信算备110108224236601220025号"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings: Any) -> Path:
    return write_config(tmp_path / "config.yaml", make_settings(replica, database_url))


def _filename_star(disposition: str) -> str:
    """The name a browser saves under (RFC 6266: filename* wins), as the stdlib reads it."""
    message = Message()
    message["content-disposition"] = disposition
    assert message.get_content_disposition() == "attachment"
    assert re.search(r'; filename="[A-Za-z0-9._-]+"', disposition)  # the ASCII fallback
    star = re.search(r"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)$", disposition)
    assert star is not None, disposition
    return unquote(star.group(1), errors="strict")


def _blob(data_dir: Path, sha: str) -> Path:
    return data_dir / "blobs" / sha[:2] / sha[2:]


def test_archived_files_of_every_version_checked_and_refused_when_damaged(
    config: Path, replica: ReplicaServer, tmp_path: Path
) -> None:
    original = replica.read(REC_2022_10)
    ingest(config)
    _reissue(replica, REC_2022_10, {RENAMED: {"主体名称": "新名字科技有限公司", "备注": "原主体名称“旧”变更为“新名字科技有限公司”"}})
    reissued = replica.read(REC_2022_10)
    assert "1 revised" in ingest(config)
    data_dir = tmp_path / "data"
    with running_server(config) as base, httpx.Client(base_url=base, timeout=30) as client:
        listed = client.get(f"/api/v1/lists/{KIND}/2022-10").json()["list"]
        versions = listed["versions"]
        assert [v["number"] for v in versions] == [1, 2]
        assert [v["file"] for v in versions] == [f"/lists/{KIND}/2022-10/file/1", f"/lists/{KIND}/2022-10/file/2"]

        # The current version, and each version by its number: the very bytes CAC served.
        for path, expected, version in (("file", reissued, versions[1]), ("file/1", original, versions[0]), ("file/2", reissued, versions[1])):
            response = client.get(f"/lists/{KIND}/2022-10/{path}")
            assert response.status_code == 200, response.text[:300]
            assert response.content == expected
            assert hashlib.sha256(response.content).hexdigest() == version["sha256"]
            assert response.headers["etag"] == f'"{version["sha256"]}"'
            assert response.headers["content-type"] == DOCX
            assert response.headers["content-length"] == str(len(expected))
            name = _filename_star(response.headers["content-disposition"])
            assert name.startswith(listed["name"]) and name.endswith(".docx")
            again = client.get(f"/lists/{KIND}/2022-10/{path}", headers={"If-None-Match": response.headers["etag"]})
            assert again.status_code == 304 and again.content == b""

        # The list page links every version's archived copy beside CAC's attachment.
        page = client.get(f"/lists/{KIND}/2022-10").text
        assert f'href="/lists/{KIND}/2022-10/file"' in page
        assert f'href="/lists/{KIND}/2022-10/file/1"' in page and f'href="/lists/{KIND}/2022-10/file/2"' in page
        assert listed["attachment_url"].replace("&", "&amp;") in page
        # … and the filing page's provenance, each version it stood in.
        filing = client.get(f"/api/v1/filings/{KIND}/{quote(RENAMED)}").json()
        files = {h["file"] for h in filing["lists"] if h["list_month"] == "2022-10"}
        assert files == {f"/lists/{KIND}/2022-10/file/1", f"/lists/{KIND}/2022-10/file/2"}
        assert f'href="/lists/{KIND}/2022-10/file/2"' in client.get(f"/filings/{KIND}/{quote(RENAMED)}").text

        # The feeds link each entry's version: the publication the first, the re-issue the second.
        atom = feedparser.parse(client.get("/feeds/lists.atom", params={"kind": KIND}).content)
        assert atom.bozo == 0
        enclosures = [[link.href for link in entry.links if link.rel == "enclosure"] for entry in atom.entries[:2]]
        assert enclosures[0][0].endswith(f"/lists/{KIND}/2022-10/file/2") and "revised" in atom.entries[0].title
        assert "网信办附件 CAC's attachment: " + listed["attachment_url"] in atom.entries[0].content[0].value
        feed = client.get("/feeds/lists.json", params={"kind": KIND}).json()
        first = feed["items"][0]
        assert first["attachments"][0]["url"].endswith(f"/lists/{KIND}/2022-10/file/2")
        assert first["attachments"][0]["mime_type"] == DOCX
        assert first["_cacwatch"]["published_basis"] == listed["published_basis"]
        assert first["_cacwatch"]["first_published_on"] == listed["first_published_on"]
        published = next(i for i in feed["items"] if i["_cacwatch"]["list_month"] == "2022-10" and i["_cacwatch"]["type"] == "list.published")
        assert published["attachments"][0]["url"].endswith(f"/lists/{KIND}/2022-10/file/1")

        # No such version: a page that says so and links CAC's original.
        missing = client.get(f"/lists/{KIND}/2022-10/file/3")
        assert missing.status_code == 404 and "no version 3 (it has 2)" in missing.text
        assert 'id="cac-attachment"' in missing.text
        assert client.get(f"/lists/{KIND}/2022-10/file/0").status_code == 404
        assert client.get(f"/lists/{KIND}/2022-10/file/x1").status_code == 404
        assert client.get(f"/lists/{KIND}/1999-01/file").status_code == 404

        # A damaged copy (bytes that no longer hash to the version's sha256): refused, 410.
        blob = _blob(data_dir, versions[0]["sha256"])
        blob.write_bytes(b"PK\x03\x04 not what CAC served")
        damaged = client.get(f"/lists/{KIND}/2022-10/file/1")
        assert damaged.status_code == 410
        assert "damaged" in damaged.text and versions[0]["sha256"] in damaged.text
        assert b"not what CAC served" not in damaged.content
        assert 'id="cac-attachment"' in damaged.text and 'id="cac-page"' in damaged.text
        # A missing copy: 404 that says so; the other version is still served.
        blob.unlink()
        gone = client.get(f"/lists/{KIND}/2022-10/file/1")
        assert gone.status_code == 404 and "holds no copy of this version" in gone.text
        assert client.get(f"/lists/{KIND}/2022-10/file/2").content == reissued


def test_a_server_without_blobs_shows_no_archive_link_and_says_so(
    config: Path, replica: ReplicaServer, tmp_path: Path
) -> None:
    ingest(config)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["data_dir"] = str(tmp_path / "elsewhere")  # `cacwatch serve` with a config of its own
    other = tmp_path / "serve.yaml"
    other.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    with running_server(other) as base, httpx.Client(base_url=base, timeout=30) as client:
        page = client.get(f"/lists/{KIND}/2022-10").text
        assert "/file" not in re.sub(r'href="/lists/[^"]*/brief[^"]*"', "", page)
        assert 'id="no-archive"' in page
        response = client.get(f"/lists/{KIND}/2022-10/file")
        assert response.status_code == 404 and "keeps no archive" in response.text
        assert all(v["file"] is None for v in client.get(f"/api/v1/lists/{KIND}/2022-10").json()["list"]["versions"])


def test_list_dates_say_published_or_first_seen_and_rows_their_printed_number(config: Path) -> None:
    before = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    ingest(config)
    after = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    with running_server(config) as base, httpx.Client(base_url=base, timeout=30) as client:
        lists = {(item["kind"], item["list_month"]): item for item in client.get("/api/v1/lists").json()["items"]}
        # The in-place GenAI page is dated 2024-04-02: its first list was published with it …
        first = lists[("genai_service", "2024-04")]
        assert (first["published_on"], first["first_published_on"], first["published_basis"]) == ("2024-04-02", "2024-04-02", "announced")
        # … the 2025-01 list was added to it later: the day cacwatch first saw it, said so.
        later = lists[("genai_service", "2025-01")]
        assert later["published_on"] == "2024-04-02"  # the page's date, as before
        assert later["published_basis"] == "first_seen" and before <= later["first_published_on"] <= after
        # A deep-synthesis batch has an announcement page of its own.
        batch = lists[("deep_synthesis", "2023-06")]
        assert (batch["first_published_on"], batch["published_basis"]) == (batch["published_on"], "announced")

        page = client.get("/lists/genai_service/2025-01").text
        assert f"首次见于页面 {later['first_published_on']}" in page and "first seen on the page" in page
        assert "页面日期" in page and "2024-04-02" in page
        assert "发布 2024-04-02" in client.get("/lists/genai_service/2024-04").text
        # The list's brief is dated as the list is, not by the page.
        brief = client.get("/lists/genai_service/2025-01/brief.html", params={"lang": "both"})
        assert brief.status_code == 200
        assert f"首次见于页面 {later['first_published_on']}" in brief.text and "first seen on the page" in brief.text
        assert "2024-04-02" not in brief.text

        # 序号 as printed: the 2024-08 GenAI list runs on from the previous list (118 …), and
        # its 登记 table starts again at 1.
        detail = client.get("/api/v1/lists/genai_service/2024-08").json()
        rows = detail["rows"]
        assert rows[0]["row_index"] == 0 and rows[0]["seq"] == "118"
        registered = [r for r in rows if r["fields"]["registration"] == "registered"]
        assert registered[0]["seq"] == "1" and registered[0]["row_index"] > 0
        number = rows[0]["filing_number"]
        filing = client.get(f"/api/v1/filings/genai_service/{quote(number)}").json()
        holding = next(h for h in filing["lists"] if h["list_month"] == "2024-08")
        assert (holding["seq"], holding["row_position"]) == ("118", 1)
        assert (holding["list_published_basis"], holding["list_published_on"]) == ("first_seen", lists[("genai_service", "2024-08")]["first_published_on"])
        filing_page = client.get(f"/filings/genai_service/{quote(number)}").text
        assert "序号 118" in filing_page and "Row 0" not in filing_page
        # History shows the list's date, not only when cacwatch recorded the change.
        created = filing["history"][0]
        assert created["list_published_on"] == holding["list_published_on"] and created["version_number"] == 1


def test_content_disposition_keeps_hostile_names_out_of_the_header() -> None:
    from bot.web.archive import content_disposition

    header = content_disposition('清单"; filename=evil.exe\r\nSet-Cookie: a=b/../x', "cacwatch-x-2024-01-v1", "pdf")
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="cacwatch-x-2024-01-v1.pdf"; filename*=UTF-8\'\'')
    star = header.split("filename*=UTF-8''", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", star)
    shown = unquote(star)
    assert shown.endswith(".pdf") and "/" not in shown and '"' not in shown and "\r" not in shown
    assert shown.startswith("清单")
    assert 'filename="list.pdf"' in content_disposition("名", "名", "pdf")  # an ASCII fallback always
