"""``cacwatch serve`` and ``cacwatch demo --serve``: the web app under uvicorn.

Binds 127.0.0.1 unless the operator passes ``--host``: listening beyond loopback is a choice,
never a default. Read-only: it never polls (``cacwatch run`` does that).
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from rich.console import Console

from bot.settings.config import EmailSettings, Settings, WebSettings
from storage.db import Database

__all__ = ["serve", "demo_and_serve", "display_url", "exposure_warnings"]


def display_url(host: str, port: int) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}/"
    if address.is_unspecified:
        host = "127.0.0.1" if address.version == 4 else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _limit_malloc_arenas() -> None:
    """glibc gives each thread its own malloc arena and keeps freed memory in each: with worker
    threads that is tens of MB of RSS for nothing. Two arenas are plenty here (M_ARENA_MAX)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and name:
        try:
            ctypes.CDLL(name).mallopt(-8, 2)  # M_ARENA_MAX
        except (OSError, AttributeError):
            pass  # not glibc: nothing to tune


def exposure_warnings(web: WebSettings, host: str, *, loopback_only: bool = False) -> list[str]:
    """What an operator must know when the app listens beyond this machine (said at start)."""
    from bot.web.http import is_loopback

    if is_loopback(host):
        return []
    warnings = []
    if loopback_only:
        warnings.append(
            f"the web app on {host} answers clients on this machine only (no web.auth): set web.auth to serve "
            "others, or web.open: true to serve them without credentials (/healthz /readyz /metrics answer everyone)"
        )
    elif web.auth is None:
        warnings.append(f"the web app on {host} answers everyone without credentials (no web.auth)")
    if web.public_url is None:
        warnings.append(
            f"listening on {host} without web.public_url: links in feeds and pages follow the Host header of each "
            "request (set web.public_url to the address people use)"
        )
    return warnings


def serve(settings: Settings, db: Database, *, host: str, port: int, email: EmailSettings | None = None) -> int:
    """Run the app until interrupted; returns an exit code. ``email``: ``notify.email`` with its
    secrets set, for the self-service sign-up's confirmation mails (None: sign-up unavailable)."""
    import socket

    import uvicorn

    from bot.web.app import create_app

    _limit_malloc_arenas()
    app = create_app(db, web=settings.web, briefs=settings.briefs, brief_dir=settings.data_dir / "briefs",
                     blob_dir=settings.data_dir / "blobs", settings=settings, email=email)
    try:
        # Bind first so that a busy port is a one-line error, not a traceback.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # clients that connect before uvicorn is up wait in the backlog
    except OSError as err:
        print(f"cacwatch: cannot listen on {host}:{port}: {err.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    from bot.web.guard import guarded_protocol

    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", server_header=False, http=guarded_protocol()
    )
    server = uvicorn.Server(config)
    print(f"cacwatch: serving {display_url(host, port)} (Ctrl-C stops)", flush=True)
    for warning in exposure_warnings(settings.web, host):
        print(f"cacwatch: {warning}", file=sys.stderr, flush=True)
    server.run(sockets=[sock])
    return 0


def demo_and_serve(console: Console, workdir: Path | None, *, host: str, port: int) -> int:
    """Run the demo into a kept directory, then serve its store."""
    import tempfile

    from bot.settings.config import settings_from_mapping
    from bot.app.demo import run_demo

    root = workdir or Path(tempfile.mkdtemp(prefix="cacwatch-demo-"))
    code = run_demo(console, root)
    if code != 0:
        return code
    settings = settings_from_mapping({"database": {"url": f"sqlite:///{root / 'demo.db'}"}}, env={})
    db = Database(settings.database.url)
    db.migrate()
    console.print(f"The demo's store ({root / 'demo.db'}) in a browser:", highlight=False)
    try:
        return serve(settings, db, host=host, port=port)
    finally:
        db.dispose()
