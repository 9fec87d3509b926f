"""The local replica reproduces the manners of the CAC site (shared/cac-site.md)."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from scrapers.replica.server import ReplicaServer, route_key

PAGE = "/2023-06/20/c_1688910683316256.htm"
TOKEN = "X7Dv6Y1OclO6B35Gx4KqYMRGqR6c2YZHfYPPJrGOnjxfsO/pjU5yU7oHfkbHgqpgxEapHpzZhkd9g88m"
ATTACHMENT = f"/cms/pub/interact/downloadfile.jsp?filepath={TOKEN}"
# As the page links it: with fText, which the server must ignore.
ATTACHMENT_LINK = ATTACHMENT + "&fText=%E5%A2%83%E5%86%85%E6%B7%B1%E5%BA%A6"
REF = {"Referer": "https://www.cac.gov.cn/"}


def get(server: ReplicaServer, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(server.url(path), headers=headers or {}, timeout=5)


def test_page_with_referer_has_content_and_validators(replica: ReplicaServer) -> None:
    resp = get(replica, PAGE, REF)
    assert resp.status_code == 200
    assert "深度合成服务算法备案信息的公告" in resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["etag"] == '"' + hashlib.sha256(resp.content).hexdigest() + '"'
    assert "GMT" in resp.headers["last-modified"]


def test_no_referer_gives_empty_page(replica: ReplicaServer) -> None:
    resp = get(replica, PAGE)
    assert resp.status_code == 200
    assert resp.content == b""


def test_no_referer_download_gives_html_not_the_file(replica: ReplicaServer) -> None:
    resp = get(replica, ATTACHMENT_LINK)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert b"<html" in resp.content
    assert not resp.content.startswith(b"PK")


def test_attachment_matches_on_filepath_ignoring_ftext(replica: ReplicaServer) -> None:
    with_ftext = get(replica, ATTACHMENT_LINK, REF)
    without = get(replica, ATTACHMENT, REF)
    assert with_ftext.status_code == without.status_code == 200
    assert with_ftext.content == without.content
    assert with_ftext.content.startswith(b"PK\x03\x04")  # a docx
    assert "filename*=UTF-8''" in with_ftext.headers["content-disposition"]


def test_unknown_path_is_404(replica: ReplicaServer) -> None:
    assert get(replica, "/no/such/page.htm", REF).status_code == 404


def test_conditional_get_gives_304(replica: ReplicaServer) -> None:
    first = get(replica, PAGE, REF)
    by_etag = get(replica, PAGE, {**REF, "If-None-Match": first.headers["etag"]})
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    by_date = get(replica, PAGE, {**REF, "If-Modified-Since": first.headers["last-modified"]})
    assert by_date.status_code == 304
    stale = get(replica, PAGE, {**REF, "If-None-Match": '"other"'})
    assert stale.status_code == 200


def test_replace_file_reissues_in_place(replica: ReplicaServer) -> None:
    first = get(replica, ATTACHMENT_LINK, REF)
    replica.replace_file(ATTACHMENT, b"PK\x03\x04 re-issued")
    again = get(
        replica,
        ATTACHMENT_LINK,
        {**REF, "If-None-Match": first.headers["etag"], "If-Modified-Since": first.headers["last-modified"]},
    )
    assert again.status_code == 200
    assert again.content == b"PK\x03\x04 re-issued"
    assert again.headers["etag"] != first.headers["etag"]
    # Content-Disposition survives the re-issue.
    assert again.headers["content-disposition"] == first.headers["content-disposition"]
    # Last-Modified moved on, so a date-only conditional request sees the change too.
    by_date = get(replica, ATTACHMENT, {**REF, "If-Modified-Since": first.headers["last-modified"]})
    assert by_date.status_code == 200


def test_replace_file_accepts_site_file_path(replica: ReplicaServer) -> None:
    replica.replace_file("files/a79df8fea85fc90d2f230cd6635ec9c00824f9cd", b"%PDF-1.4 new")
    assert get(replica, ATTACHMENT, REF).content == b"%PDF-1.4 new"


def test_waf_mode(replica: ReplicaServer) -> None:
    replica.waf = True
    resp = get(replica, PAGE, REF)
    assert resp.status_code == 200
    assert "知道创宇云防御" in resp.text
    assert "浏览器安全检查" in resp.text
    replica.waf = False
    assert "深度合成" in get(replica, PAGE, REF).text


def test_fail_status(replica: ReplicaServer) -> None:
    replica.fail_status = 503
    assert get(replica, PAGE, REF).status_code == 503
    replica.fail_status = None
    assert get(replica, PAGE, REF).status_code == 200


def test_notice_api_base_substitution(replica: ReplicaServer) -> None:
    data = get(replica, "/api/notice/list?page=2", REF).json()  # paging is ignored
    assert data["errno"] == 0
    assert all(item["content"].startswith(replica.base_url + "/") for item in data["datas"])


def test_add_route_and_set_page(replica: ReplicaServer) -> None:
    replica.add_route(
        "/cms/pub/interact/downloadfile.jsp?filepath=NEW~TOKEN/1",
        b"%PDF-1.7",
        "application/octet-stream",
        "attachment; filename=new.pdf",
    )
    resp = get(replica, "/cms/pub/interact/downloadfile.jsp?filepath=NEW~TOKEN/1&fText=x", REF)
    assert resp.content == b"%PDF-1.7"
    assert resp.headers["content-disposition"] == "attachment; filename=new.pdf"

    replica.set_page("/new/page.htm", '<html><a href="{BASE}/x">中文</a></html>')
    page = get(replica, "/new/page.htm", REF)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert f'href="{replica.base_url}/x"' in page.text
    replica.set_page("/new/page.htm", "<html>v2</html>")
    assert get(replica, "/new/page.htm", REF).text == "<html>v2</html>"


def test_request_log(replica: ReplicaServer) -> None:
    get(replica, PAGE, {**REF, "User-Agent": "UA-test"})
    get(replica, PAGE)
    log = replica.requests
    assert [r.status for r in log] == [200, 200]
    assert log[0].method == "GET" and log[0].path == PAGE
    assert log[0].header("user-agent") == "UA-test"
    assert log[0].header("Referer") == REF["Referer"]
    assert log[0].bytes_sent > 0 and log[1].bytes_sent == 0
    assert log[0].started <= log[0].finished
    assert len(replica.requests_to("/2023-06/")) == 2
    replica.reset_log()
    assert replica.requests == []


def test_head_request(replica: ReplicaServer) -> None:
    resp = httpx.head(replica.url(PAGE), headers=REF, timeout=5)
    assert resp.status_code == 200
    assert int(resp.headers["content-length"]) > 0
    assert replica.requests[-1].bytes_sent == 0


def test_concurrent_requests_are_served_in_parallel(replica: ReplicaServer) -> None:
    replica.delay = 0.2
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda _: get(replica, PAGE, REF).status_code, range(6)))
    assert codes == [200] * 6
    # Server-side spans overlap: requests were handled at the same time, not queued.
    spans = sorted((r.started, r.finished) for r in replica.requests)
    overlapping = sum(1 for (_, end), (start, _) in zip(spans, spans[1:]) if start < end)
    assert overlapping >= 3


def test_routes_file_and_site_dir_are_configurable(tmp_path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.htm").write_text("<html>hello</html>", encoding="utf-8")
    (tmp_path / "routes.json").write_text(
        json.dumps({"/a.htm": {"file": "a.htm", "type": "text/html; charset=utf-8"}}), encoding="utf-8"
    )
    with ReplicaServer(tmp_path / "site", tmp_path / "routes.json") as server:
        assert get(server, "/a.htm", REF).text == "<html>hello</html>"


def test_not_started_has_no_base_url() -> None:
    server = ReplicaServer()
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_route_key_normalisation() -> None:
    assert route_key("http://h:1/p.htm?x=1") == "/p.htm"
    assert route_key(ATTACHMENT_LINK) == ATTACHMENT
    assert route_key("/cms/pub/interact/downloadfile.jsp?fText=a&filepath=A%2FB~C") == (
        "/cms/pub/interact/downloadfile.jsp?filepath=A/B~C"
    )
