"""``GET /lists/{kind}/{list_month}/file[/{n}]``: cacwatch's own archived copy of a list's file.

CAC's ``downloadfile.jsp`` links fail for a reader (CAC answers a request without a Referer with
an error page, and this app sends ``Referrer-Policy: no-referrer``). Every attachment cacwatch
parsed is kept in the blob store (``data_dir/blobs``, by sha256; ``scrapers.blobstore``) and every
list version records the sha256 of its bytes. This serves those bytes: the current version at
``…/file``, version *n* (1-based, as the list page numbers them) at ``…/file/n``.

- The bytes are hashed again before anything is sent and compared with the version's sha256
  (one open file, so what was hashed is what is sent); a missing or damaged copy is a page that
  says so (404 / 410) and links CAC's original, never other bytes.
- Streamed in chunks, with the media type of the version's format, ``ETag`` = the sha256 (and
  ``If-None-Match`` → 304), and ``Content-Disposition: attachment`` with an ASCII fallback name
  and the list's own name percent-encoded (RFC 6266 / 5987): nothing of the name reaches the
  header unencoded.
- A list that is a table in an announcement page's HTML (a notice without an attachment) has
  no file: the page says so. So does a server whose ``data_dir`` holds no blob store (``cacwatch
  serve`` with a config of its own); pages show no archive link then (``WebState.archived``).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from typing import IO
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse

from bot.web.http import if_none_match_matches
from bot.web.params import check_known, clean_text, parse_kind
from bot.settings.paths import list_path
from bot.web.render import render
from bot.web.state import WebState, web_state
from storage.corpus import ListFiles, VersionInfo

__all__ = ["router", "MEDIA_TYPES", "content_disposition", "has_file"]

router = APIRouter(include_in_schema=False)

MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "pdf": "application/pdf",
}
_CHUNK = 256 * 1024
_NAME_MAX = 120  # characters of the list's name in the offered file name
_MAX_VERSION = 100_000


def content_disposition(name: str, fallback: str, ext: str) -> str:
    """``attachment`` with an ASCII ``filename`` (letters, digits, ``-._`` only) and the name
    itself as ``filename*`` (UTF-8, percent-encoded): quotes, CR/LF, ``;`` and path separators
    never reach the header as themselves."""
    cleaned = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    cleaned = re.sub(r"[\\/:*?\"<>|]+", "_", cleaned).strip(" .")[:_NAME_MAX] or fallback
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", fallback).strip("_") or "list"
    return f"attachment; filename=\"{ascii_name}.{ext}\"; filename*=UTF-8''{quote(f'{cleaned}.{ext}', safe='')}"


def _number(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= _MAX_VERSION:
        raise LookupError(f"no version {text[:20]!r}: versions are numbered 1, 2, …")
    return int(text)


@router.get("/lists/{kind}/{list_month}/file")
async def current_file(request: Request, kind: str, list_month: str) -> Response:
    return await _serve(request, kind, list_month, None)


@router.get("/lists/{kind}/{list_month}/file/{number}")
async def version_file(request: Request, kind: str, list_month: str, number: str) -> Response:
    return await _serve(request, kind, list_month, _number(number))


async def _serve(request: Request, kind: str, list_month: str, number: int | None) -> Response:
    check_known(request.query_params.keys(), ())
    kind = parse_kind(kind) or ""
    clean_text("list_month", list_month)
    state = web_state(request)
    files = await anyio.to_thread.run_sync(state.corpus.list_files, kind, list_month)
    if files is None:
        raise LookupError(f"no {kind} list named for {list_month[:20]}")
    version = files.version(number)
    if version is None:
        if number is None:
            return _refusal(files, None, 404, "这份清单还没有读取成功的版本。", "This list has no version that was read successfully yet.")
        return _refusal(
            files, None, 404, f"这份清单没有第 {number} 版（共 {len(files.versions)} 版）。",
            f"This list has no version {number} (it has {len(files.versions)}).",
        )
    if version.format not in MEDIA_TYPES:
        return _refusal(
            files, version, 404, "这份清单是公告页面中的表格，没有附件文件：请看公告页面。",
            "This list is a table in the announcement page itself: there is no file. See the announcement page.",
        )
    etag = f'"{version.sha256}"'
    if if_none_match_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    opened = await anyio.to_thread.run_sync(_open_checked, state, version.sha256)
    if isinstance(opened, tuple):
        status, zh, en = opened
        return _refusal(files, version, status, zh, en)
    fallback = f"cacwatch-{files.kind}-{files.list_month}-v{version.number}"
    name = files.name or files.title or fallback
    headers = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "Content-Disposition": content_disposition(name if number is None else f"{name} v{version.number}", fallback, version.format),
        "Content-Length": str(os.fstat(opened.fileno()).st_size),
        "X-Cacwatch-Sha256": version.sha256,
    }
    return StreamingResponse(iterate_in_threadpool(_chunks(opened)), media_type=MEDIA_TYPES[version.format], headers=headers)


def _open_checked(state: WebState, sha256: str) -> IO[bytes] | tuple[int, str, str]:
    """The blob opened and positioned at its start once its bytes hash to ``sha256``; else
    (status, zh, en) of why not."""
    if state.blobs is None or not state.blobs.root.is_dir():
        return (404, "这个服务器没有保存附件的存档（data_dir 中没有 blobs）。",
                "This server keeps no archive of the files (its data_dir holds no blob store).")  # fmt: skip
    try:
        fh = state.blobs.path(sha256).open("rb")
    except (FileNotFoundError, IsADirectoryError, ValueError):
        return (404, f"存档中没有这个版本的文件（sha256 {sha256}）。",
                f"The archive holds no copy of this version (sha256 {sha256}).")  # fmt: skip
    digest = hashlib.sha256()
    try:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    if digest.hexdigest() != sha256:
        fh.close()
        return (410, f"存档中的文件已损坏：其内容与记录的 sha256 {sha256} 不符，不予提供。",
                f"The archived copy is damaged: its bytes no longer match the recorded sha256 {sha256}, so it is not served.")  # fmt: skip
    return fh


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _refusal(files: ListFiles, version: VersionInfo | None, status: int, zh: str, en: str) -> Response:
    body = render(
        "archive_missing.html",
        title=f"{status} · {files.name}",
        status=status,
        reason=(zh, en),
        files=files,
        version=version,
        list_url=list_path(files.kind, files.list_month),
    )
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def has_file(state: WebState, fmt: str, sha256: str) -> bool:
    """Whether this server can serve the archived file of a version of this format and sha256
    (no blob store, a table in a page, a blob not kept here: no link is shown)."""
    return state.blobs is not None and fmt in MEDIA_TYPES and state.blobs.has(sha256)
