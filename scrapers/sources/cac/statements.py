"""What an announcement's text states besides its links: cumulative GenAI totals, and
whether its body carries a list as an HTML table (the 2026-07-15 on-device notice).

CAC announces each GenAI list with a sentence such as
``截至2024年12月31日，共有302款生成式人工智能服务在国家网信办完成备案，其中2024年新增238款备案；
…2024年共有105款生成式人工智能应用或功能在地方网信办完成登记`` — the cumulative totals a
parse must add up to (``bot.changes`` reconciles them). Variants: only 备案 stated
(``截至2025年3月31日，共有346款…完成备案``), 截止 for 截至, full-width digits, thousands
separators. A period's count (``其中2024年新增238款备案``) is not a total: a total is the
count that ends in 完成备案 / 完成登记.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import islice

from scrapers.records import StatedTotals
from scrapers.sources.cac.pages import article_root, either, find_all, first_tag, get_text, html_tree
from scrapers.tables import find_header

__all__ = ["stated_totals", "article_body", "body_has_table"]

_AS_OF = re.compile(r"截(?:至|止)(?:到)?(\d{4})年(\d{1,2})月(\d{1,2})日")
_COUNT = r"(\d{1,3}(?:,\d{3})+|\d+)\s*(?:款|个|项)"
# The count is the last number before 完成备案 within one clause (no 。；; between them).
_FILED = re.compile(_COUNT + r"[^。；;，,\d]*?(?:[，,][^。；;\d]*?)?(?:已)?完成(?:了)?备案")
_REGISTERED = re.compile(_COUNT + r"[^。；;，,\d]*?(?:[，,][^。；;\d]*?)?(?:已)?完成(?:了)?登记")
# How far after a 截至 date its totals may be stated (the next 截至 ends it earlier).
_SCOPE = 400


def _normal(text: str) -> str:
    # NFKC: full-width digits and punctuation become ASCII; whitespace (also the 　 indents
    # of CAC paragraphs) never separates a number from its 款.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def stated_totals(text: str) -> list[StatedTotals]:
    """Every (as_of, filed, registered) an announcement's text states, in text order.

    A 截至 date without a 完成备案 count states nothing (e.g. a deadline) and is skipped.
    """
    t = _normal(text)
    found: list[StatedTotals] = []
    dates = list(_AS_OF.finditer(t))
    for index, match in enumerate(dates):
        y, m, d = (int(g) for g in match.groups())
        if not (1 <= m <= 12 and 1 <= d <= 31):
            continue
        end = dates[index + 1].start() if index + 1 < len(dates) else len(t)
        scope = t[match.end() : min(end, match.end() + _SCOPE)]
        filed = _FILED.search(scope)
        if filed is None:
            continue
        registered = _REGISTERED.search(scope)
        statement = StatedTotals(
            as_of=f"{y:04d}-{m:02d}-{d:02d}",
            filed=_number(filed.group(1)),
            registered=_number(registered.group(1)) if registered is not None else None,
        )
        if statement not in found:
            found.append(statement)
    return found


# Rows of a body table looked at for a list header (the list itself is parsed later, by
# the worker under the parse limits, like any HTML attachment).
_HEAD_ROWS = 5


def article_body(html: str | bytes) -> tuple[str, bool]:
    """The text of an article's body (``.TRS_Editor``) and whether it holds a table with a
    filing-list header (a layout table does not make a page a list).

    Text of list tables is left out: a list's rows are not a statement.
    """
    page = html_tree(html)
    body = either(either(article_root(page), first_tag(page, "body", templates=True)), page)
    lists = []
    for table in find_all(body, "table", templates=True):
        head = [
            [get_text(cell, " ", strip=True) for cell in find_all(tr, templates=True) if cell.tag in ("td", "th")]
            for tr in islice(find_all(table, "tr", templates=True), _HEAD_ROWS)
        ]
        if find_header(head) is not None:
            lists.append(table)
    # A list's text is left out (a layout table's text stays: it may be the statement itself).
    return get_text(body, "\n", skip=lists), bool(lists)


def body_has_table(html: str | bytes) -> bool:
    """Whether an article's body holds a filing list as a table."""
    return article_body(html)[1]
