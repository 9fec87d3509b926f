"""The interactive bot: ask about filings, watch companies, subscribe to kinds.

Runs inside ``cacwatch run`` through :func:`run_bot` (long polling by default, a webhook
when ``telegram.mode: webhook``). Handlers read the database in a worker thread
(``asyncio.to_thread``) so a slow query never stalls other chats. Watches and subscriptions
are rows (``storage.models_telegram``), so they survive restarts; the last search of a chat
(for paging and /export) lives in memory only.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.settings.config import TelegramSettings
from bot.changes.export import with_english, write_export
from bot.delivery.telegram import queries
from storage import telegram_repo
from bot.delivery.telegram.format import (
    Block,
    en_name,
    attr,
    esc,
    kind_label,
    month_label,
    pack,
    split_html,
)
from bot.changes.resolver import company_label, no_filing_text, resolve, suggest
from bot.changes.watchlist import Watchlist
from bot.settings.patterns import check_pattern
from bot.delivery.telegram.notifier import USER_PREFIX, make_rate_limiter
from bot.delivery.telegram.search import clip, render_search_page, search_keyboard
from bot.delivery.telegram.throttle import FairUpdateProcessor
from storage.db import Database, Session

__all__ = [
    "build_application",
    "run_bot",
    "COMMANDS",
    "HELP_TEXT",
    "ALLOWED_UPDATES",
    "render_search_page",
    "search_keyboard",
    "ADMIN_HELP_TEXT",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

ALLOWED_UPDATES = ["message", "callback_query"]
PAGE_SIZE = 5
MAX_EXPORT_ROWS = 20000
_SEARCHES_KEPT = 20  # per chat, for the paging buttons of older results

COMMANDS: list[tuple[str, str]] = [
    ("latest", "最新清单 / latest lists"),
    ("search", "搜索备案 / search filings"),
    ("stats", "统计 / statistics"),
    ("watch", "关注公司 / watch a company"),
    ("unwatch", "取消关注 / stop watching"),
    ("subscribe", "订阅类别 / subscribe to a kind"),
    ("unsubscribe", "取消订阅 / unsubscribe"),
    ("export", "导出CSV / export CSV"),
    ("help", "帮助 / help"),
]

HELP_TEXT = (
    "<b>cacwatch</b> — 网信办算法备案清单 / CAC algorithm-filing lists\n\n"
    "/latest [类别 kind] — 最新清单 / the newest list of each kind\n"
    "/search &lt;文本 text&gt; — 按公司、产品、算法名称或备案号搜索（中英文）/ "
    "search by company, product, algorithm name or filing number (Chinese or English)\n"
    "/stats — 按类别、省份、备案主体统计 / per kind, province and top filers\n"
    "/watch &lt;公司 company&gt; — 该公司有新备案、变更或注销时私信提醒 / "
    "a private alert when the company gets a filing, a change or a cancellation\n"
    "/unwatch [公司 company] — 取消（全部）关注 / stop watching (everything)\n"
    "/subscribe &lt;类别 kind|all&gt; — 私信接收该类别每份新清单 / every new list of a kind in private\n"
    "/unsubscribe [类别 kind] — 取消订阅 / unsubscribe\n"
    "/export [文本 text] — 上次搜索或该搜索的 CSV / CSV of the last search or of a query\n\n"
    "类别 / kinds: <code>deep_synthesis</code> (深度合成), <code>algorithm_recommendation</code> (算法推荐), "
    "<code>genai_service</code> (生成式人工智能)"
)

# Shown by /help and /start to the admins (notify.telegram.admin_ids) only.
ADMIN_HELP_TEXT = "\n\n<b>管理员 / admins</b>\n/status — 运行状态：来源、轮询、投递 / service status: sources, polls, deliveries"

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


# --- helpers ----------------------------------------------------------------------------------


def _db(context: ContextTypes.DEFAULT_TYPE) -> Database:
    db = context.application.bot_data["db"]
    assert isinstance(db, Database)  # put there by run_bot
    return db


def _settings(context: ContextTypes.DEFAULT_TYPE) -> TelegramSettings:
    settings = context.application.bot_data["settings"]
    assert isinstance(settings, TelegramSettings)  # put there by run_bot
    return settings


async def _in_session(context: ContextTypes.DEFAULT_TYPE, work: Callable[[Session], T]) -> T:
    db = _db(context)

    def run() -> T:
        with db.session() as session:
            return work(session)

    return await asyncio.to_thread(run)


def _argument(update: Update) -> str:
    """The text after the command, spacing kept ("/search Kimi 智能助手" → "Kimi 智能助手")."""
    text = (update.effective_message.text or "") if update.effective_message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _reply(update: Update, text: str, **kwargs: Any) -> None:
    message = update.effective_message
    if message is None:
        return
    for post in pack([Block(text)]):
        await message.reply_text(post, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW, **kwargs)
        kwargs.pop("reply_markup", None)


def _kinds_hint() -> str:
    return "deep_synthesis · algorithm_recommendation · genai_service · all"


# --- searches -----------------------------------------------------------------------------------


def _remember_search(context: ContextTypes.DEFAULT_TYPE, query: str) -> str:
    searches: OrderedDict[str, str] = context.chat_data.setdefault("searches", OrderedDict())  # type: ignore[union-attr]
    search_id = secrets.token_hex(4)
    searches[search_id] = query
    while len(searches) > _SEARCHES_KEPT:
        searches.popitem(last=False)
    context.chat_data["last_search"] = query  # type: ignore[index]
    return search_id


# --- commands ----------------------------------------------------------------------------------


def _help_for(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The help, with the admins' commands for an admin."""
    user = update.effective_user
    admin = user is not None and user.id in _settings(context).admin_ids
    return HELP_TEXT + (ADMIN_HELP_TEXT if admin else "")


async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is not None:
        # A user who blocked the bot and comes back: alerts flow again.
        await _in_session(context, lambda s: _reenable(s, chat.id))
    await _reply(update, "👋 " + _help_for(update, context))


def _reenable(session: Session, chat_id: int) -> None:
    telegram_repo.enable_destination(session, f"{USER_PREFIX}{chat_id}")


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(update, _help_for(update, context))


async def cmd_latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    argument = _argument(update)
    kind = queries.parse_kind(argument) if argument else None
    if argument and kind is None:
        await _reply(update, f"未知类别 / unknown kind “{esc(argument)}”。\n{_kinds_hint()}")
        return
    summaries = await _in_session(context, lambda s: telegram_repo.latest_lists(s, kind))
    if not summaries:
        await _reply(update, "还没有清单 / no lists stored yet.")
        return
    blocks = []
    for item in summaries:
        zh_kind, en_kind = kind_label(item.kind)
        zh_month, en_month = month_label(item.list_month)
        links = " · ".join(
            f'<a href="{attr(url)}">{label}</a>'
            for url, label in ((item.page_url, "公告 announcement"), (item.attachment_url, "清单 list file"))
            if url.startswith(("http://", "https://"))
        )
        blocks.append(
            Block(
                f"📋 <b>{esc(zh_kind)}</b> / {esc(en_kind)}\n"
                f"{esc(item.name)}\n"
                f"{esc(zh_month)} / {esc(en_month)} · {item.rows} 行 rows · "
                f"规模第 {item.rank}/{item.of} / #{item.rank} of {item.of} by size"
                + (f"\n🔗 {links}" if links else "")
            )
        )
    for post in pack(blocks):
        await update.effective_message.reply_text(  # type: ignore[union-attr]
            post, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW
        )


async def cmd_search(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = telegram_repo.normalize_query(_argument(update))
    if len(query) < 2:
        await _reply(update, "用法 / usage: /search &lt;公司、产品、算法名称或备案号 company, product, name or number&gt;")
        return
    page = await _in_session(context, lambda s: queries.search_filings(s, query, page_size=PAGE_SIZE))
    search_id = _remember_search(context, query)
    await update.effective_message.reply_text(  # type: ignore[union-attr]
        render_search_page(query, page) + (_did_you_mean(query) if page.total == 0 else ""),
        parse_mode=ParseMode.HTML,
        link_preview_options=_NO_PREVIEW,
        reply_markup=search_keyboard(search_id, page),
    )


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    callback = update.callback_query
    if callback is None or callback.data is None:
        return
    kind, _, rest = callback.data.partition(":")
    searches: dict[str, str] = (context.chat_data or {}).get("searches", {})
    if kind == "noop":
        await callback.answer()
        return
    search_id, _, page_text = rest.partition(":")
    query = searches.get(search_id)
    if query is None:
        await callback.answer("搜索已过期，请重新 /search · search expired, run /search again", show_alert=True)
        return
    if kind == "s":
        page_number = int(page_text) if page_text.isdigit() else 0
        page = await _in_session(
            context, lambda s: queries.search_filings(s, query, page=page_number, page_size=PAGE_SIZE)
        )
        await callback.answer()
        await callback.edit_message_text(
            render_search_page(query, page),
            parse_mode=ParseMode.HTML,
            link_preview_options=_NO_PREVIEW,
            reply_markup=search_keyboard(search_id, page),
        )
    elif kind == "x":
        await callback.answer("CSV…")
        await _send_export(update, context, query)
    else:
        await callback.answer()


async def cmd_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    data = await _in_session(context, telegram_repo.stats)
    if not data["kinds"]:
        await _reply(update, "还没有数据 / nothing stored yet.")
        return
    lines = ["📊 <b>统计 / Statistics</b>"]
    for kind, totals in sorted(data["kinds"].items()):
        zh_kind, en_kind = kind_label(kind)
        lines.append(
            f"• {esc(zh_kind)} / {esc(en_kind)}: {totals['lists']} 份清单 lists · {totals['filings']} 项 filings"
            + (f" · 已注销 {totals['cancelled']} cancelled" if totals["cancelled"] else "")
        )
    blocks = [Block("\n".join(lines))]
    if data["provinces"]:
        from bot.changes.companies import province_en

        rows = [
            f"{i}. {esc(p)} {esc(_safe(province_en, p))} — {n}" for i, (p, n) in enumerate(data["provinces"], start=1)
        ]
        blocks.append(Block("<b>省份 / Provinces</b>\n" + "\n".join(rows)))
    if data["filers"]:
        rows = []
        for i, (entity, n) in enumerate(data["filers"], start=1):
            english = en_name(entity)
            rows.append(f"{i}. {esc(clip(entity, 120))}" + (f" · {esc(clip(english, 120))}" if english != entity else "")
                        + f" — {n}")
        blocks.append(Block("<b>备案最多的主体 / Top filers</b>\n" + "\n".join(rows)))
    for post in pack(blocks):
        await update.effective_message.reply_text(post, parse_mode=ParseMode.HTML)  # type: ignore[union-attr]


def _safe(function: Callable[[str], str], value: str) -> str:
    try:
        return function(value) or ""
    except Exception:  # noqa: BLE001
        return ""


def _did_you_mean(query: str) -> str:
    """For a search or watch that found nothing: "Tesla: no filing on record" when it names a
    known company or group (never a bare 0), else "did you mean" the nearest company groups."""
    named = resolve(query)
    if named:
        return "".join("\n" + " / ".join(esc(line) for line in no_filing_text(company)) for company in named)
    labels = [company_label(company) for company in suggest(query)]
    if not labels:
        return ""
    return "\n您是否要找 / did you mean: " + "、".join(f"<b>{esc(label)}</b>" for label in labels)


def _count_watch_matches(session: Session, pattern: str) -> int:
    matcher = Watchlist([pattern])
    total = 0
    for entity, count in telegram_repo.present_filings_per_entity(session):
        if entity and matcher.match(entity):
            total += count
    return total


async def cmd_watch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    pattern = telegram_repo.normalize_query(_argument(update))
    if not pattern:
        current = await _in_session(context, lambda s: telegram_repo.watches_of(s, chat.id))
        listing = "\n".join(f"• {esc(p)}" for p in current) or "（无 / none）"
        await _reply(update, f"用法 / usage: /watch &lt;公司 company&gt;\n\n<b>关注中 / Watching</b>\n{listing}")
        return
    if len(pattern) < 2 or len(pattern) > 100:
        await _reply(update, "关注词需 2–100 个字符 / a watch needs 2 to 100 characters.")
        return
    try:
        check_pattern(pattern)  # refused here, never skipped quietly on every poll
    except ValueError as err:
        await _reply(update, f"无法添加 / cannot add: {esc(err)}")
        return

    def work(session: Session) -> tuple[bool, int]:
        added = telegram_repo.add_watch(session, chat.id, pattern)
        _reenable(session, chat.id)
        return added, _count_watch_matches(session, pattern)

    try:
        added, matches = await _in_session(context, work)
    except ValueError as err:
        await _reply(update, f"无法添加 / cannot add: {esc(err)}")
        return
    state = "已关注 / now watching" if added else "已在关注 / already watching"
    await _reply(
        update,
        f"🔔 {state} “{esc(pattern)}”。\n目前匹配 {matches} 项备案 / {matches} filings match today.\n"
        "有新备案、变更或注销时会私信提醒 / you get a private alert on a new filing, a change or a cancellation."
        + (_did_you_mean(pattern) if matches == 0 else ""),
    )


async def cmd_unwatch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    pattern = _argument(update) or None
    removed = await _in_session(context, lambda s: telegram_repo.remove_watches(s, chat.id, pattern))
    if not removed:
        await _reply(update, "没有这样的关注 / no such watch." if pattern else "没有关注 / you watch nothing.")
        return
    await _reply(update, "已取消关注 / stopped watching: " + "、".join(esc(p) for p in removed))


async def cmd_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    argument = _argument(update)
    kind = "all" if argument.lower() in ("all", "全部") else queries.parse_kind(argument)
    if kind is None:
        current = await _in_session(context, lambda s: telegram_repo.subscriptions_of(s, chat.id))
        note = f"未知类别 / unknown kind “{esc(argument)}”。\n" if argument else ""
        await _reply(
            update,
            f"{note}用法 / usage: /subscribe &lt;kind&gt;\n{_kinds_hint()}\n\n"
            f"<b>已订阅 / Subscribed</b>: {esc(', '.join(current) or '—')}",
        )
        return

    def work(session: Session) -> bool:
        added = telegram_repo.add_subscription(session, chat.id, kind)
        _reenable(session, chat.id)
        return added

    added = await _in_session(context, work)
    label = "全部类别 / every kind" if kind == "all" else " / ".join(kind_label(kind))
    await _reply(update, ("✅ 已订阅 / subscribed: " if added else "已订阅过 / already subscribed: ") + esc(label))


async def cmd_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    argument = _argument(update)
    kind = None
    if argument:
        kind = "all" if argument.lower() in ("all", "全部") else queries.parse_kind(argument)
        if kind is None:
            await _reply(update, f"未知类别 / unknown kind “{esc(argument)}”。\n{_kinds_hint()}")
            return
    removed = await _in_session(context, lambda s: telegram_repo.remove_subscriptions(s, chat.id, kind))
    if not removed:
        await _reply(update, "没有这样的订阅 / no such subscription.")
        return
    await _reply(update, "已取消订阅 / unsubscribed: " + esc(", ".join(removed)))


async def cmd_export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = telegram_repo.normalize_query(_argument(update)) or (context.chat_data or {}).get("last_search")
    if not query:
        await _reply(update, "用法 / usage: /export &lt;text&gt;，或先 /search / or run /search first.")
        return
    await _send_export(update, context, query)


async def _send_export(update: Update, context: ContextTypes.DEFAULT_TYPE, query: str) -> None:
    page = await _in_session(context, lambda s: queries.search_filings(s, query, page_size=MAX_EXPORT_ROWS))
    chat = update.effective_chat
    assert chat is not None
    if page.total == 0:
        await context.bot.send_message(chat.id, f"🔎 “{esc(query)}”：没有结果 / no results", parse_mode=ParseMode.HTML)
        return
    buffer = io.BytesIO()
    # The export columns of the CLI and the digest; would-be formulas neutralised by the same rule.
    write_export((with_english(dict(r)) for r in page.records), "csv", buffer)
    more = f"（前 {MAX_EXPORT_ROWS} 项 / first {MAX_EXPORT_ROWS}）" if page.total > MAX_EXPORT_ROWS else ""
    await context.bot.send_document(
        chat.id,
        document=buffer.getvalue(),
        filename="cacwatch-search.csv",
        caption=f"🔎 “{esc(clip(query, 200))}”：{len(page.records)} 项 / rows{more}",
        parse_mode=ParseMode.HTML,
    )


async def cmd_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    if user is None or user.id not in _settings(context).admin_ids:
        await _reply(update, "⛔ 仅限管理员 / admins only.")
        return
    report = await _in_session(context, telegram_repo.status_report)
    lines = ["🛠 <b>状态 / Status</b>"]
    for source in report["sources"]:
        lines.append(
            f"• {esc(source['name'])}: ok {esc(_when(source['last_success_at']))}, "
            f"failed {esc(_when(source['last_failure_at']))}, {source['consecutive_failures']} in a row"
            + (f"\n  {esc(clip(source['last_error'], 300))}" if source["last_error"] else "")
        )
    if report["polls"]:
        lines.append("<b>Polls</b>")
        for poll in report["polls"]:
            lines.append(
                f"• {esc(_when(poll['started_at']))} {'✅' if poll['ok'] else '❌'} "
                f"{poll['lists_seen']} seen, {poll['lists_changed']} changed"
                + (f" — {esc(clip(poll['error'], 200))}" if poll["error"] else "")
            )
    deliveries = report["deliveries"]
    if deliveries is None:
        lines.append("<b>Deliveries</b>: no outbox table")
    else:
        states = ", ".join(f"{esc(state)} {count}" for state, count in sorted(deliveries["states"].items())) or "none"
        lines.append(f"<b>Deliveries</b>: {states}")
        for item in deliveries["failing"]:
            lines.append(
                f"• {esc(item['destination'])} [{esc(item['state'])}, {item['attempts']}×]: "
                f"{esc(clip(item['last_error'], 200))}"
            )
    await _reply(update, "\n".join(lines))


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "never"


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("telegram handler failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text("⚠️ 出错了，请稍后再试 / something went wrong, try again later.")
        except TelegramError:
            pass


# --- application ---------------------------------------------------------------------------------


def build_application(settings: TelegramSettings, db: Database) -> Application:  # type: ignore[type-arg]
    """The PTB application with every handler, talking to ``settings.api_base_url``."""
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        # Interactive replies may wait out a short 429 themselves (the notifier hands its to the outbox).
        .rate_limiter(make_rate_limiter(settings, max_retries=2))
        .connection_pool_size(max(32, settings.concurrent_updates + 8))
        # Many users at once, each within limits: one slow request no longer blocks the rest.
        .concurrent_updates(
            FairUpdateProcessor(
                settings.concurrent_updates,
                per_minute=settings.user_requests_per_minute,
                in_flight=settings.user_requests_in_flight,
            )
        )
        .read_timeout(settings.timeout)
        .write_timeout(settings.timeout)
        .build()
    )
    app.bot_data["db"] = db
    app.bot_data["settings"] = settings
    handlers: list[tuple[str, Callable[..., Any]]] = [
        ("start", cmd_start),
        ("help", cmd_help),
        ("latest", cmd_latest),
        ("search", cmd_search),
        ("stats", cmd_stats),
        ("watch", cmd_watch),
        ("unwatch", cmd_unwatch),
        ("subscribe", cmd_subscribe),
        ("unsubscribe", cmd_unsubscribe),
        ("export", cmd_export),
        ("status", cmd_status),
    ]
    for name, callback in handlers:
        app.add_handler(CommandHandler(name, callback))
    app.add_handler(CallbackQueryHandler(on_callback))
    app.add_error_handler(_on_error)
    return app


async def run_bot(settings: TelegramSettings, db: Database, stop_event: asyncio.Event) -> None:
    """Serve commands until ``stop_event`` is set: long polling, or a webhook by configuration."""
    app = build_application(settings, db)
    async with app:  # initialize … shutdown
        try:
            await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
        except TelegramError as err:  # cosmetic: the commands work without the menu
            log.warning("setMyCommands failed: %s", err)
        assert app.updater is not None
        if settings.mode == "webhook":
            # Config requires both; a forged POST without the secret header then gets 403.
            if settings.webhook_url is None or not settings.webhook_secret:
                raise ValueError("telegram webhook mode needs webhook_url and webhook_secret")
            await app.updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=urlparse(settings.webhook_url).path.lstrip("/"),
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        await app.start()
        log.info("telegram bot running (%s)", settings.mode)
        try:
            await stop_event.wait()
        finally:
            await app.updater.stop()
            await app.stop()
