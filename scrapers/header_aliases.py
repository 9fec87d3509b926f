"""``sources.cac.header_aliases``: a column CAC renamed, mapped to the column it always was.

When a new list names a column in a way the parser does not know (``申报主体`` for 主体名称, say),
the list fails with "headers not recognised: …" and an operator alert. Until the parser learns
the new name, the operator maps it in config.yaml::

    sources:
      cac:
        header_aliases: {"申报主体": "entity", "服务编号": "number"}

Header texts are compared as the parser compares them (NFKC, whitespace removed, lower case).
The parse runs in worker processes (``python -m scrapers.workers``) that inherit the
environment, so ``install`` publishes the aliases there too (``CACWATCH_HEADER_ALIASES``, JSON):
whichever process builds the source — ``check``, the service's poll child, ``lists import`` —
hands them to every worker it starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from scrapers.normalize import clean_text

__all__ = ["ENV", "install", "header_alias", "normalized_header"]

ENV = "CACWATCH_HEADER_ALIASES"
_cache: tuple[str, dict[str, str]] = ("", {})


def normalized_header(text: object) -> str:
    """A header cell as ``scrapers.tables`` compares it."""
    return "".join(clean_text(text, nfkc=True).split()).lower()


def install(aliases: Mapping[str, str]) -> None:
    """Use ``aliases`` (header text → canonical column) in this process and the workers it starts."""
    if aliases:
        os.environ[ENV] = json.dumps({normalized_header(k): v for k, v in aliases.items()}, ensure_ascii=False, sort_keys=True)
    else:
        os.environ.pop(ENV, None)


def header_alias(key: str) -> str | None:
    """The canonical column an operator mapped the normalized header ``key`` to, if any."""
    global _cache
    raw = os.environ.get(ENV, "")
    if not raw:
        return None
    if raw != _cache[0]:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {}
        _cache = (raw, {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {})
    return _cache[1].get(key)
