"""The one way a URL is shown: ``mask_url`` (logs, outbox destinations, CLI output, errors).

Webhook and chat services put their credentials in the URL: in the userinfo
(``user:password@``), the query (``?access_token=…``, a database's ``?password=…``) and
the path (``/services/T0/B0/XXXX``, ``/api/webhooks/<id>/<token>``). A masked URL keeps
what tells an operator which endpoint it is — scheme, host, port, the plain words of the
path, the names of query parameters — and replaces everything else with ``***``.

``url_secrets`` returns exactly the parts ``mask_url`` hides, for the log filter
(``bot.settings.logs``), so a log line and a CLI line never disagree about what is secret.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

__all__ = ["MASK", "mask_url", "mask_urls_in", "mask_destination", "url_secrets"]

MASK = "***"
# Path segments shown as they are: lower-case words (api, hooks, services, robot, send,
# webhook.php), optionally a short version number (v1, v2). Anything else — ids, tokens,
# mixed case, digits inside — may be a credential.
_WORD = re.compile(r"[a-z][a-z_.-]{0,23}\d{0,2}")
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"']+")


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    return parts if parts.scheme and "://" in url else None


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port is not None else host


def _hidden_segment(segment: str) -> bool:
    return bool(segment) and not _WORD.fullmatch(segment)


def mask_url(url: str) -> str:
    """``https://u:p@hooks.example/services/T0/B0/XX?token=abc`` →
    ``https://***@hooks.example/services/***/***/***?token=***``. Not a URL at all: ``***``."""
    parts = _split(url)
    if parts is None:
        return MASK
    userinfo = f"{MASK}@" if parts.username is not None or parts.password is not None else ""
    if parts.scheme.lower().startswith("sqlite"):
        path = parts.path  # a local file name: nothing secret, and the operator needs to see it
    else:
        path = "/".join(MASK if _hidden_segment(segment) else segment for segment in parts.path.split("/"))
    query = ""
    if parts.query:
        names = [pair.partition("=")[0] for pair in parts.query.split("&")]
        query = "?" + "&".join(f"{name}={MASK}" if _WORD.fullmatch(name) else MASK for name in names)
    fragment = f"#{MASK}" if parts.fragment else ""
    return f"{parts.scheme}://{userinfo}{_host(parts)}{path}{query}{fragment}"


def mask_urls_in(text: str) -> str:
    """Every URL inside a free text (an error message) masked."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match.group(0)), text)


def mask_destination(destination: str) -> str:
    """An outbox destination as shown: ``webhook:<URL>`` keys stored by older versions
    carried the whole URL; the URL part is masked (other keys hold no URL)."""
    kind, sep, rest = destination.partition(":")
    return f"{kind}{sep}{mask_urls_in(rest)}" if "://" in rest else destination


def url_secrets(url: str, *, paths: bool = True) -> set[str]:
    """The parts of ``url`` that ``mask_url`` hides (for masking them in log lines).

    ``paths=False`` leaves the path out: for URLs whose path is public (a source's pages),
    where masking its words in every log line would only garble them."""
    parts = _split(url)
    if parts is None:
        return {url}
    # Not the user name: it is no secret, and often a common word ("cacwatch") that masking
    # would garble everywhere; mask_url still hides it with the password.
    found = {value for value in (parts.password, parts.fragment) if value}
    if paths and not parts.scheme.lower().startswith("sqlite"):
        hidden = [segment for segment in parts.path.split("/") if _hidden_segment(segment)]
        found.update(hidden)
        if hidden:
            found.add(parts.path)  # the whole path too, so a log line shows no piece of it
    for pair in parts.query.split("&") if parts.query else []:
        name, _, value = pair.partition("=")
        found.update(v for v in (value, pair if not _WORD.fullmatch(name) else "") if v)
    return found
