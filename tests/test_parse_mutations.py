"""Property (issue 10): a mutated real list — bytes flipped, inserted or cut, or its
document XML damaged inside an intact zip — always ends within the limits, with
rows or a one-line ParseError; never a crash of the caller, a hang or an empty list."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import zipfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.limits import DEFAULT_LIMITS
from scrapers.records import ListRef, ParsedList, ParseError
from scrapers.workers import ParserPool

from test_parse import sample_attachments

# The replica's real lists (7 docx, 2 PDF), each with the ref it is published under.
SAMPLES: list[tuple[ListRef, bytes]] = [(ref, path.read_bytes()) for ref, path in sample_attachments()]
LIMITS = dataclasses.replace(DEFAULT_LIMITS, wall_seconds=30, address_space=768 * 1024 * 1024)


@pytest.fixture(scope="module")
def run() -> Iterator[tuple[asyncio.AbstractEventLoop, ParserPool]]:
    loop = asyncio.new_event_loop()
    pool = ParserPool(1, LIMITS)
    yield loop, pool
    pool.close()
    loop.close()


def _mutate_bytes(data: bytes, kind: str, at: float, blob: bytes) -> bytes:
    i = int(at * len(data))
    if kind == "flip":
        out = bytearray(data)
        for k, b in enumerate(blob[:16]):
            out[(i + k * 97) % len(out)] ^= b or 0xFF
        return bytes(out)
    if kind == "insert":
        return data[:i] + blob + data[i:]
    return data[:i]  # truncate


def _mutate_xml(data: bytes, kind: str, at: float, blob: bytes) -> bytes:
    """Damage word/document.xml but keep the zip valid, so the XML reaches the parser."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    parts["word/document.xml"] = _mutate_bytes(parts["word/document.xml"], kind, at, blob)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    return buf.getvalue()


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, len(SAMPLES) - 1),
    where=st.sampled_from(["bytes", "xml"]),
    kind=st.sampled_from(["flip", "insert", "truncate"]),
    at=st.floats(0, 1, allow_nan=False),
    blob=st.binary(min_size=1, max_size=64),
)
def test_mutated_lists_end_with_rows_or_a_clean_error(
    run: tuple[asyncio.AbstractEventLoop, ParserPool], index: int, where: str, kind: str, at: float, blob: bytes
) -> None:
    ref, data = SAMPLES[index]
    if where == "xml" and data.startswith(b"PK"):
        data = _mutate_xml(data, kind, at, blob)
    else:
        data = _mutate_bytes(data, kind, at, blob)
    loop, pool = run
    try:
        parsed = loop.run_until_complete(pool.parse(data, ref))
    except ParseError as err:
        message = str(err)
        assert message and "\n" not in message and len(message) <= 600
        return
    assert isinstance(parsed, ParsedList) and parsed.rows
