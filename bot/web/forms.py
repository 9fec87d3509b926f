"""Bounded reading of what a page's form or an API call sends.

``read_form``: an ``application/x-www-form-urlencoded`` POST, parsed by Starlette (python-multipart)
with ``max_fields`` and ``max_part_size``, after its ``Content-Length`` was checked against
``max_bytes`` (a form without one is refused: browsers always send it). Each value is a string;
a field given twice is refused (one value per field). ``bounded_json_body``: a FastAPI dependency
refusing a JSON body over 64 KiB before it is read.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.requests import Request

__all__ = ["read_form", "bounded_json_body", "field", "MAX_JSON_BYTES"]

MAX_JSON_BYTES = 64 * 1024


def _length(request: Request, max_bytes: int) -> None:
    raw = request.headers.get("content-length")
    if raw is None or not raw.isdigit():
        raise HTTPException(411, "send the body with a Content-Length")
    if int(raw) > max_bytes:
        raise HTTPException(413, f"the request is larger than {max_bytes} bytes")


async def read_form(request: Request, *, max_fields: int = 16, max_bytes: int = 16 * 1024) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form as application/x-www-form-urlencoded")
    _length(request, max_bytes)
    form = await request.form(max_files=0, max_fields=max_fields, max_part_size=max_bytes)
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str) or name in values:
            raise HTTPException(400, f"the form field {name[:40]!r} must be given once, as text")
        values[name] = value
    return values


def field(form: dict[str, str], name: str, *, limit: int, required: bool = False) -> str:
    """A form value, at most ``limit`` characters (400 otherwise, naming the field)."""
    value = form.get(name, "")
    if len(value) > limit:
        raise HTTPException(400, f"{name}: at most {limit} characters")
    if required and not value.strip():
        raise HTTPException(400, f"{name}: required")
    return value


def bounded_json_body(request: Request) -> None:
    """Dependency: a body-carrying API call states a Content-Length of at most 64 KiB."""
    if request.method in ("POST", "PUT", "PATCH"):
        _length(request, MAX_JSON_BYTES)
