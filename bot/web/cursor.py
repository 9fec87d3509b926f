"""Opaque, tamper-evident cursors for keyset pagination of /api/v1/filings and /search.

A cursor holds the (rank, id) of the last filing of a page and a fingerprint of the filters it
was made for; it is base64url JSON with an HMAC tag. The tag is for integrity (a cursor edited
by hand, truncated or used with other filters is a 400), not secrecy. The key is this
installation's own (``Corpus.web_secret("cursor")``: random, made once, kept in the database
so every instance serving the store shares it): nobody can sign a cursor from the source code.
Whatever the tag, the payload is checked for its shape before use: anything but a cursor
this code writes is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import astuple
from typing import Any

from storage.corpus import FilingQuery, normalize_query

__all__ = ["CursorError", "encode_cursor", "decode_cursor", "MAX_RANK", "MAX_ID"]

_TAG_BYTES = 12
MAX_RANK = 2  # exact number, filer, the rest (storage.corpus_search)
MAX_ID = 2**63 - 1  # a database integer key
_NOT_OURS = "cursor: not a cursor from this API"


class CursorError(ValueError):
    """The cursor is not one this API issued for these filters."""


def _fingerprint(query: FilingQuery) -> str:
    values = list(astuple(query))
    values[0] = normalize_query(query.q)  # q is compared normalised, so its spelling may vary
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def encode_cursor(position: tuple[int, int], query: FilingQuery, *, key: bytes) -> str:
    payload = json.dumps([position[0], position[1], _fingerprint(query)], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_tag(key, payload))}"


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity: not JSON this code writes


def _position(payload: bytes) -> tuple[int, int, str]:
    """(rank, id, fingerprint) when the payload has exactly the shape encode_cursor writes."""
    try:
        value = json.loads(payload.decode("utf-8"), parse_constant=_no_constants, parse_float=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CursorError(_NOT_OURS) from None
    if not (isinstance(value, list) and len(value) == 3):
        raise CursorError(_NOT_OURS)
    rank, filing_id, fingerprint = value
    # bool is an int to Python; JSON true is not a rank.
    if not all(type(number) is int for number in (rank, filing_id)) or not isinstance(fingerprint, str):
        raise CursorError(_NOT_OURS)
    if not (0 <= rank <= MAX_RANK and 0 <= filing_id <= MAX_ID):
        raise CursorError(_NOT_OURS)
    return rank, filing_id, fingerprint


def decode_cursor(cursor: str, query: FilingQuery, *, key: bytes) -> tuple[int, int]:
    try:
        payload_text, dot, tag_text = cursor.partition(".")
        if not dot:
            raise ValueError("no tag")
        payload, tag = _unb64(payload_text), _unb64(tag_text)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CursorError(_NOT_OURS) from None
    if not hmac.compare_digest(tag, _tag(key, payload)):
        raise CursorError(_NOT_OURS)
    rank, filing_id, fingerprint = _position(payload)
    if fingerprint != _fingerprint(query):
        raise CursorError("cursor: made for other filters (keep q, kind, … as they were)")
    return rank, filing_id
