"""``cacwatch telegram preview KIND MONTH``: the channel's posts of a stored list, not sent.

The list becomes a ``list.published`` event as if it had just been published (its new
filings are those that first appeared in it), and the channel's posts are built from it by
the notifier's own builder (``bot.delivery.telegram.format.channel_texts``) with
``notify.telegram``'s language, chart and watchlist choices and ``web.public_url``'s links.
Nothing is sent and no bot token is needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from bot.app import cli_common
from bot.app.cli_common import fail as _fail

__all__ = ["telegram_app"]

telegram_app = typer.Typer(help="Telegram: preview the channel's posts of a stored list.", no_args_is_help=True)

_KINDS = ("deep_synthesis", "algorithm_recommendation", "genai_service")
_LANGUAGES = ("both", "zh", "en")


@telegram_app.command("preview")
def preview(
    kind: Annotated[str, typer.Argument(help="deep_synthesis, algorithm_recommendation or genai_service")],
    month: Annotated[str, typer.Argument(help="The list month, YYYY-MM")],
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write an HTML page showing each post as a message bubble")] = None,
    language: Annotated[Optional[str], typer.Option("--language", help="both, zh or en (default: notify.telegram.language)")] = None,
) -> None:
    """The posts the channel would get for the stored list KIND MONTH, as readable text; nothing is sent."""
    if kind not in _KINDS:
        raise _fail(f"unknown kind {kind!r} ({', '.join(_KINDS)})", 2)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise _fail(f"month {month!r}: expected YYYY-MM", 2)
    if language is not None and language not in _LANGUAGES:
        raise _fail(f"--language: {language!r} is not one of {', '.join(_LANGUAGES)}", 2)
    from bot.changes.event_schema import is_list_event, split_event
    from bot.ingest.events import MAX_FILINGS_PER_EVENT, stored_list_event
    from bot.changes.watchlist import Watchlist
    from bot.delivery.telegram.format import channel_texts, utf16_len
    from bot.delivery.telegram.preview import PreviewPost, post_text, preview_page

    settings = cli_common.settings(for_reading=True)
    telegram = settings.notify.telegram
    watchlist = Watchlist(settings.notify.watchlist) if settings.notify.watchlist else None
    db = cli_common.read_database(settings)
    try:
        with db.session() as session:
            event = stored_list_event(session, kind, month, watchlist=watchlist)
    finally:
        db.dispose()
    if event is None:
        raise _fail(f"no {kind} list of {month} is stored (`cacwatch stats` lists them)")
    # The channel tells a list once, from the first part of its event (bot.delivery.telegram.notifier).
    first = split_event(event, max_filings=MAX_FILINGS_PER_EVENT)[0]
    if not is_list_event(first):  # a list's event is one (narrows the type)
        raise _fail(f"the {kind} list of {month} made no list event")
    caption, texts = channel_texts(
        first,
        language or (telegram.language if telegram else "both"),
        settings.web.public_url,
        show_watchlist=telegram.show_watchlist if telegram else False,
        chart=telegram.chart if telegram else True,
    )
    posts = [PreviewPost(text) for text in texts]
    sizes = [(str(m), int(n)) for m, n in first["data"].get("sizes") or []]
    if caption is not None and sizes:
        photo = b""
        if html is not None:  # the picture only for the page; the terminal names it
            from bot.delivery.telegram.chart import batch_chart

            photo = batch_chart(sizes, month, kind)
        posts.insert(0, PreviewPost(caption, photo))
    for index, post in enumerate(posts, start=1):
        what = "photo: list-size chart, caption" if post.photo is not None else "message"
        units = utf16_len(post.text)
        print(f"── post {index}/{len(posts)} ({what}; {units}/{post.limit} characters) ──")
        print(post_text(post.text))
        print()
    if html is not None:
        title = f"cacwatch · Telegram preview · {kind} {month}"
        note = f"{len(posts)} post{'s' if len(posts) != 1 else ''} as the channel would get them; nothing was sent."
        try:
            html.write_text(preview_page(posts, title, note), encoding="utf-8")
        except OSError as err:
            raise _fail(f"--html {html}: {err.strerror or err}") from None
        typer.echo(f"preview written to {html}", err=True)
