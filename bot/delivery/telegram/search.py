"""A page of /search results as one HTML post, and its paging keyboard (pure: no network, no database)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from storage import telegram_repo
from bot.delivery.telegram.format import Block, en_name, esc, kind_label, month_label, pack, split_html

__all__ = ["render_search_page", "search_keyboard", "clip"]


def render_search_page(query: str, page: telegram_repo.SearchPage) -> str:
    """One page of results as an HTML message (always within one post)."""
    if page.total == 0:
        return f"🔎 “{esc(query)}”：没有结果 / no results"
    head = (
        f"🔎 “{esc(query)}”：共 <b>{page.total}</b> 项 / {page.total} result{'s' if page.total != 1 else ''}"
        f" · {page.page + 1}/{page.pages}"
    )
    blocks = [Block(head)]
    for number, record in enumerate(page.records, start=page.page * page.page_size + 1):
        entity = str(record.get("entity") or "")
        english = en_name(entity)
        zh_kind, en_kind = kind_label(str(record.get("kind") or ""))
        zh_month, _ = month_label(record.get("list_month"))
        status = " · <b>已注销 cancelled</b>" if record.get("status") == "cancelled" else ""
        if record.get("removed"):
            status += " · <b>已移出名单 removed</b>"  # left every list: never shown as current
        lines = [
            f"{number}. <b>{esc(clip(record.get('name'), 150))}</b>",
            f"{esc(clip(entity, 150))}" + (f" · {esc(clip(english, 150))}" if english and english != entity else ""),
            f"<code>{esc(record.get('filing_number'))}</code>",
            f"{esc(zh_kind)} / {esc(en_kind)} · {esc(zh_month)}"
            + (f" · {esc(record.get('province'))}" if record.get("province") else "")
            + status,
        ]
        products = record.get("products") or []
        if products:
            lines.append("产品 products: " + esc(clip("、".join(str(p) for p in products), 200)))
        blocks.append(Block("\n".join(lines)))
    posts = pack(blocks, number=False)
    return posts[0] if len(posts) == 1 else split_html(posts[0], 4096)[0]


def clip(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def search_keyboard(search_id: str, page: telegram_repo.SearchPage) -> InlineKeyboardMarkup | None:
    """« Prev · n/m · Next » and a CSV button; callback data stays far below Telegram's 64 bytes."""
    if page.total == 0:
        return None
    row = []
    if page.page > 0:
        row.append(InlineKeyboardButton("« 上一页 Prev", callback_data=f"s:{search_id}:{page.page - 1}"))
    row.append(InlineKeyboardButton(f"{page.page + 1}/{page.pages}", callback_data="noop"))
    if page.page + 1 < page.pages:
        row.append(InlineKeyboardButton("下一页 Next »", callback_data=f"s:{search_id}:{page.page + 1}"))
    return InlineKeyboardMarkup([row, [InlineKeyboardButton("⬇️ CSV", callback_data=f"x:{search_id}")]])
