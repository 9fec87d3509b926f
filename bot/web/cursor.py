"""Opaque, tamper-evident cursors for keyset pagination of /api/v1/filings.

A cursor holds the (rank, id) of the last filing of a page and a fingerprint of the filters it
was made for; it is base64url JSON with an HMAC tag. The tag is for integrity (a cursor edited
by hand, truncated or used with other filters is a 400), not secrecy: the key is fixed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import astuple

from storage.corpus import FilingQuery, normalize_query

__all__ = ["CursorError", "encode_cursor", "decode_cursor"]

_KEY = b"cacwatch/web/cursor/v1"
_TAG_BYTES = 12


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


def encode_cursor(key: tuple[int, int], query: FilingQuery) -> str:
    payload = json.dumps([key[0], key[1], _fingerprint(query)], separators=(",", ":")).encode()
    tag = hmac.new(_KEY, payload, hashlib.sha256).digest()[:_TAG_BYTES]
    return f"{_b64(payload)}.{_b64(tag)}"


def decode_cursor(cursor: str, query: FilingQuery) -> tuple[int, int]:
    try:
        payload_text, _, tag_text = cursor.partition(".")
        payload, tag = _unb64(payload_text), _unb64(tag_text)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CursorError("cursor: not a cursor from this API") from None
    expected = hmac.new(_KEY, payload, hashlib.sha256).digest()[:_TAG_BYTES]
    if not hmac.compare_digest(tag, expected):
        raise CursorError("cursor: not a cursor from this API")
    rank, filing_id, fingerprint = json.loads(payload)
    if fingerprint != _fingerprint(query):
        raise CursorError("cursor: made for other filters (keep q, kind, … as they were)")
    return int(rank), int(filing_id)
