"""Signed webhooks (Standard Webhooks) to internal tools.

One POST per event and endpoint; the outbox retries failures with backoff. Receivers verify
with any Standard Webhooks library, e.g. ``standardwebhooks.Webhook(secret).verify(body, headers)``:

- ``webhook-id``: the delivery id, the same on every retry (receivers drop duplicates);
- ``webhook-timestamp``: unix seconds of this attempt;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``.

Secrets: ``whsec_<base64>`` as Standard Webhooks defines it (the key is the decoded bytes).
Any other string is used as the key's raw UTF-8 bytes; a receiver then verifies with
``Webhook(secret.encode())`` (bytes), not ``Webhook(secret)``, which would base64-decode it.

Failures map to ``DeliveryError``: 2xx ok; 3xx "redirect not followed" (not retried — the
endpoint is misconfigured); 410 disables the endpoint; 429/503 retried after Retry-After;
every other status, timeout and connection error retried (Standard Webhooks retries any
non-2xx; the outbox caps the attempts); a refused (unsafe) URL is not retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import functools
import json
import math
import re
import ssl
import weakref
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from bot.settings.config import WebhookSettings
from bot.changes.event_schema import Event, OperatorAlertEvent, split_event
from bot.settings.event_types import OPERATOR_ALERT
from bot.settings.redact import mask_url
from bot.settings.netguard import UnresolvableHost, UnsafeURL, avalidate_outbound_url, check, guarded_transport
from bot.delivery.notifiers.base import DeliveryError, Notifier, passes_filters
from storage.db import Database

__all__ = [
    "WebhookNotifier",
    "encode_body",
    "signer_for",
    "split_event",  # re-exported: it lives with the events
    "shared_client",
    "release_shared_client",
    "parse_retry_after",
    "USER_AGENT",
    "MAX_CONNECTIONS",
]

USER_AGENT = "cacwatch"
# One pool for all endpoints: 1,000 endpoints can be in flight at once, so a few hanging
# receivers never hold up the healthy ones.
MAX_CONNECTIONS = 1000
_MAX_RETRY_AFTER = 86400.0  # a receiver cannot park a delivery for more than a day
_ERROR_SNIPPET = 200  # bytes of a failing response kept in last_error, for the operator


def encode_body(event: Event | OperatorAlertEvent) -> str:
    """The exact JSON text that is signed and sent (docs/webhook-events.schema.json).

    ``id`` is the event's own id, the same at every endpoint, so receivers can correlate
    across endpoints; ``webhook-id`` (a header) names one delivery and is stable across retries."""
    payload = {"id": event["id"], "type": event["type"], "timestamp": event["timestamp"], "data": event["data"]}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be sent as UTF-8; escaped JSON still says the same thing.
        text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text


def signer_for(secret: str) -> Webhook:
    """``whsec_…`` → the Standard Webhooks key; any other string → its raw UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return Webhook(secret)
    return Webhook(secret.encode("utf-8"))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), capped at a day; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    seconds: float
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


# --- split large lists -------------------------------------------------------------------


# --- the shared HTTP clients -------------------------------------------------------------


@dataclass(slots=True)
class _Shared:
    client: httpx.AsyncClient
    users: int = 0


# Clients per event loop (an AsyncClient is bound to the loop it first ran on), per policy
# (endpoints that may be private use a plain transport, the others the guarded one) and per
# shard: httpcore scans its whole pool on every request, so one pool of 1,000 connections
# costs quadratic time; endpoints are spread over a few smaller pools by their URL.
_SHARDS = 16
_SHARED: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[bool, int], _Shared]]" = (
    weakref.WeakKeyDictionary()
)


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: once for all shards, not once each.
    return httpx.create_ssl_context()


def _new_client(allow_private: bool) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS // _SHARDS, max_keepalive_connections=100 // _SHARDS)
    tls = _tls_context()
    transport = (
        httpx.AsyncHTTPTransport(limits=limits, verify=tls)
        if allow_private
        else guarded_transport(limits=limits, verify=tls)
    )
    # trust_env=False: a proxy from the environment would bypass (and confuse) the guard.
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(10.0),
        headers={"User-Agent": USER_AGENT},
    )


def shared_client(*, allow_private: bool = False, url: str = "") -> httpx.AsyncClient:
    """A process-wide client for this event loop (reference-counted: pair with release)."""
    per_loop = _SHARED.setdefault(asyncio.get_running_loop(), {})
    key = (allow_private, zlib.crc32(url.encode("utf-8")) % _SHARDS)
    entry = per_loop.get(key)
    if entry is None or entry.client.is_closed:
        entry = per_loop[key] = _Shared(_new_client(allow_private))
    entry.users += 1
    return entry.client


async def release_shared_client(client: httpx.AsyncClient) -> None:
    """Drop one reference; the last one closes the client."""
    for per_loop in list(_SHARED.values()):
        for key, entry in list(per_loop.items()):
            if entry.client is client:
                entry.users -= 1
                if entry.users <= 0:
                    del per_loop[key]
                    await client.aclose()
                return


# --- the notifier ------------------------------------------------------------------------


def _snippet(response_bytes: bytes) -> str:
    text = response_bytes[:_ERROR_SNIPPET].decode("utf-8", "replace")
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


class WebhookNotifier(Notifier):
    """One configured webhook endpoint."""

    kind = "webhook"

    @classmethod
    def from_settings(cls, settings: WebhookSettings, db: Database | None = None) -> Notifier:
        return cls(settings)

    def __init__(self, settings: WebhookSettings, *, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._signer = signer_for(settings.secret)
        self._client = client  # injected clients belong to the caller
        self._shared = False

    def __repr__(self) -> str:  # never show the secret, nor the tokens in the URL
        return f"WebhookNotifier({self.destination!r})"

    @property
    def destination(self) -> str:
        """``webhook:<masked URL>#<hash>``: stored in the outbox and shown by ``cacwatch
        deliveries``, so never the URL's tokens; the hash keeps two URLs that mask alike apart."""
        digest = hashlib.sha256(self.settings.url.encode("utf-8")).hexdigest()[:12]
        return f"webhook:{mask_url(self.settings.url)}#{digest}"

    @property
    def aliases(self) -> list[str]:
        # Deliveries queued by versions that keyed webhooks by their whole URL still go out.
        return [f"webhook:{self.settings.url}"]

    def accepts(self, event: Event) -> bool:
        return passes_filters(self.settings, event)

    @property
    def carries_operator_alerts(self) -> bool:
        return OPERATOR_ALERT in (self.settings.events or ())

    def problems(self) -> list[str]:
        """What is wrong with the URL now (resolves DNS), for startup checks and logs."""
        problem = check(self.settings.url, allow_private=self.settings.allow_private)
        return [f"{self.destination}: {problem}"] if problem else []

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = shared_client(allow_private=self.settings.allow_private, url=self.settings.url)
            self._shared = True
        return self._client

    def headers(self, body: str, delivery_id: str, now: datetime | None = None) -> dict[str, str]:
        """Standard Webhooks headers for one attempt (timestamp = now)."""
        moment = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        return {
            "webhook-id": delivery_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": self._signer.sign(delivery_id, moment, body),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }

    async def deliver(self, event: Event, *, delivery_id: str) -> None:
        await self._post(encode_body(event), delivery_id)

    async def deliver_operator_alert(self, alert: OperatorAlertEvent, *, delivery_id: str) -> None:
        # The same envelope, signature and retries as every event (type "operator.alert").
        await self._post(encode_body(alert), delivery_id)

    async def _post(self, body: str, delivery_id: str) -> None:
        url, timeout = self.settings.url, self.settings.timeout
        try:
            # Again at every send: DNS may have changed since the config was loaded.
            await avalidate_outbound_url(url, allow_private=self.settings.allow_private)
        except UnresolvableHost as err:
            raise DeliveryError(str(err), retryable=True) from None
        except UnsafeURL as err:
            raise DeliveryError(f"refused unsafe URL: {err}", retryable=False) from None
        headers = self.headers(body, delivery_id)
        try:
            # asyncio.timeout bounds the whole attempt; httpx's own timeouts are per phase
            # and a receiver dripping one byte at a time would otherwise never time out.
            async with asyncio.timeout(timeout):
                async with self._http().stream(
                    "POST",
                    url,
                    content=body.encode("utf-8"),
                    headers=headers,
                    follow_redirects=False,
                    timeout=httpx.Timeout(timeout),
                ) as response:
                    status = response.status_code
                    kept = b""
                    if not 200 <= status < 300:
                        async for chunk in response.aiter_bytes():
                            kept += chunk
                            if len(kept) >= _ERROR_SNIPPET:
                                break
        except UnresolvableHost as err:  # raised by the guarded transport at connect time
            raise DeliveryError(str(err), retryable=True) from None
        except UnsafeURL as err:
            raise DeliveryError(f"refused unsafe URL: {err}", retryable=False) from None
        except (TimeoutError, httpx.TimeoutException):
            raise DeliveryError(f"timed out after {timeout:g} s", retryable=True) from None
        except httpx.HTTPError as err:
            raise DeliveryError(f"connection failed: {err.__class__.__name__}", retryable=True) from None
        self._raise_for_status(status, response.headers, kept)

    @staticmethod
    def _raise_for_status(status: int, headers: httpx.Headers, body: bytes) -> None:
        if 200 <= status < 300:
            return
        detail = f"HTTP {status}"
        if snippet := _snippet(body):
            detail += f": {snippet}"
        if 300 <= status < 400:
            # Following would send the signed body somewhere nobody validated.
            raise DeliveryError(f"HTTP {status}: redirect not followed", retryable=False)
        if status == 410:
            raise DeliveryError(f"{detail} (endpoint gone: disabled)", retryable=False, disable=True)
        # Everything else is retried (Standard Webhooks: retry any non-2xx); the outbox caps
        # the attempts, so a permanently broken 4xx endpoint ends up dead-lettered.
        raise DeliveryError(detail, retryable=True, retry_after=parse_retry_after(headers.get("retry-after")))

    async def aclose(self) -> None:
        if self._shared and self._client is not None:
            client, self._client, self._shared = self._client, None, False
            await release_shared_client(client)
