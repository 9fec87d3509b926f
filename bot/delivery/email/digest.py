"""One digest mail for one subscriber over several events.

Layout of the message (what a partner forwards to a client)::

    multipart/mixed
      multipart/related; type="multipart/alternative"
        multipart/alternative
          text/plain            (digest.txt.j2)
          text/html             (digest.html.j2, inline CSS, table layout for Outlook and phones)
        image/png               (list-size chart, Content-ID referenced by the HTML as cid:…)
      text/csv                  (new, changed and removed rows; UTF-8 with BOM for Excel)
      application/vnd…sheet     (the same rows as XLSX)

Content order: watched companies first, then one section per list (counts, rank, notable
findings, the first new filings, links to CAC), then cancellations, renames and removals.

Every value comes from a government web site or a subscriber's input, so: HTML through
Jinja2 with autoescape on; links only when they are http(s); headers only through
``email.headerregistry`` objects built from cleaned, single-line values; spreadsheet cells
that would start a formula are kept as text.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.changes.event_schema import Event
from bot.changes.vocabulary import CHANGE_LABELS
from bot.changes.watchlist import Watchlist
from bot.delivery.email.attachments import ROW_COLUMNS, digest_rows, rows_csv, rows_xlsx
from bot.delivery.email.headers import set_link_header
from bot.delivery.email.sections import (
    Section,
    cancellations_and_renames,
    clean_line,
    domain_of,
    finish_section,
    group_sections,
    pick_language,
    stable_message_id,
    subject_for,
    subject_variants,
    digest_totals,
    unsubscribe_url,
    add_web_links,
    watched_items,
)
from bot.delivery.email.subscribers import Subscriber, company_matcher, clean_name, narrow_event, normalize_address
from bot.delivery.notifiers.text import KIND_NAMES
from bot.settings.paths import manage_path, page_url

if TYPE_CHECKING:
    from bot.settings.config import EmailSettings

__all__ = [
    "render_digest",
    "Letterhead",
    "letterhead_of",
    "Period",
    "digest_rows",
    "rows_csv",
    "rows_xlsx",
    "subject_for",
    "ROW_COLUMNS",
    "ChartSizes",
    "stable_message_id",
    "unsubscribe_url",
    "standalone_html",
]

log = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True, slots=True)
class Letterhead:
    """The sender's own words around every digest (``notify.email.firm_name``, ``introduction``,
    ``disclaimer``, cleaned and bounded by ``validation.clean_letter_text``): the firm's name in
    the header, the introduction above the news, the disclaimer at the foot. Escaped in HTML."""

    firm_name: str = ""
    introduction: str = ""
    disclaimer: str = ""


def letterhead_of(settings: EmailSettings) -> Letterhead:
    return Letterhead(settings.firm_name, settings.introduction, settings.disclaimer)


@dataclass(frozen=True, slots=True)
class Period:
    """A period report's span (``cacwatch digest preview --since``): events recorded from
    ``since`` (inclusive) to ``until`` (inclusive), both dates."""

    since: date
    until: date
_MAX_LISTED = 50  # cancellations / renames / removals / watched rows shown in the body
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

# kind → [(list_month, rows)], oldest first: the chart's data when an event carries none.
ChartSizes = Mapping[str, Sequence[tuple[str, int]]]


# --- charts -------------------------------------------------------------------------------------


def _draw_chart(section: Section, chart_sizes: ChartSizes | None) -> bytes | None:
    sizes: Sequence[Sequence[str | int]] | None = None
    for event in section.events:
        sizes = event["data"].get("sizes") or sizes
    if not sizes and chart_sizes:
        sizes = chart_sizes.get(section.kind)
    if not sizes:
        return None
    try:
        from bot.delivery.telegram.chart import batch_chart

        pairs = [(str(month), int(rows)) for month, rows in sizes]
        return batch_chart(pairs, section.list_month, section.kind)
    except Exception:  # noqa: BLE001 - the digest matters more than the picture
        log.exception("list-size chart for %s %s failed; digest without it", section.kind, section.list_month)
        return None


# --- rendering ---------------------------------------------------------------------------------

_env: Environment | None = None


def _environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=FileSystemLoader(str(_TEMPLATES)),
            # HTML templates escape every value; the text template is plain text (no entities).
            autoescape=select_autoescape(
                enabled_extensions=("html", "html.j2"), disabled_extensions=("txt.j2",), default=True
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        _env.filters["n"] = lambda value: f"{int(value or 0):,}"
    return _env


def _render(name: str, context: Mapping[str, Any]) -> str:
    return _environment().get_template(name).render(**context)


def _address(display_name: str, addr_spec: str) -> Address:
    # Address objects quote and encode the display name; control characters are removed
    # first so no value can end a header line early (header injection).
    return Address(display_name=clean_name(display_name, limit=80), addr_spec=normalize_address(addr_spec))


def render_digest(
    events: Sequence[Event],
    subscriber: Subscriber,
    *,
    now: datetime,
    sender: str = "cacwatch@localhost.localdomain",
    sender_name: str = "cacwatch",
    public_base_url: str | None = None,
    public_url: str | None = None,
    chart: bool = True,
    chart_sizes: ChartSizes | None = None,
    message_id: str | None = None,
    matcher: Watchlist | None = None,
    letterhead: Letterhead = Letterhead(),
    period: Period | None = None,
) -> EmailMessage:
    """The digest for ``subscriber`` over ``events`` (already due; filters are applied here too).

    No list event and no baseline left → the weekly "no news" heartbeat mail (a period report
    says instead that nothing was published in its period).
    ``letterhead``: the sender's firm name, introduction and disclaimer. ``period``: a period
    report over the events recorded in it (its span in the subject and heading).
    ``chart_sizes`` supplies list sizes per kind when an event carries no ``sizes``.
    """
    language = subscriber.language
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    local_now = now.astimezone(subscriber.zone)
    day = local_now.strftime("%Y-%m-%d")
    if matcher is None and subscriber.watchlist:
        matcher = company_matcher(subscriber.watchlist)
    kept = [e for e in (narrow_event(e, subscriber, matcher) for e in events) if e is not None]
    sections, baselines = group_sections(kept)
    for section in sections:
        finish_section(section, language)
    watched = watched_items(kept, sections, matcher, language)
    cancelled, renamed, removed = cancellations_and_renames(sections, language)
    # web.public_url: each list and filing links to its page in the web app.
    add_web_links(public_url, sections, watched, cancelled, renamed, removed)
    totals = digest_totals(sections, len(watched))
    baseline = baselines[-1]["data"] if baselines else None
    subject = subject_for(language, day, totals=totals, baseline=baseline)
    zh_subject, en_subject, _ = subject_variants(day, totals, baseline)
    headlines = {"zh": [zh_subject], "en": [en_subject]}.get(language, [en_subject, zh_subject])
    period_text: tuple[str, str] | None = None
    if period is not None:
        span = f"{period.since:%Y-%m-%d} – {period.until:%Y-%m-%d}"
        period_text = (f"报告期 {span}", f"Period report {span}")
        if not sections and baseline is None:  # not "no new filings this week"
            subject = " / ".join(pick_language(language, f"{period_text[0]}：无新名单", f"{period_text[1]}: no new list"))
        else:
            subject = " / ".join(pick_language(language, *period_text)) + ": " + subject
    if letterhead.firm_name:
        subject = f"{letterhead.firm_name} · {subject}"
    heartbeat = not sections and baseline is None

    # Charts: one per kind of newly published list (the first such list of the kind).
    images: list[tuple[str, bytes]] = []
    if chart:
        charted: set[str] = set()
        for section in sections:
            if section.event_type != "list.published" or section.kind in charted:
                continue
            png = _draw_chart(section, chart_sizes)
            if png:
                cid = make_msgid(idstring=f"chart-{len(images)}", domain=domain_of(sender))
                section.chart_cid = cid[1:-1]
                images.append((cid, png))
                charted.add(section.kind)

    token = subscriber.valid_token()
    one_click = unsubscribe_url(public_base_url, token)
    # web.public_url: the preferences page (token link, no password) beside the unsubscribe link.
    manage_token = subscriber.valid_manage_token()
    manage_url = page_url(public_url, manage_path(manage_token)) if manage_token else None
    mailto = f"mailto:{sender}?subject=unsubscribe-{token}" if token else f"mailto:{sender}?subject=unsubscribe"
    baseline_kinds = []
    if baseline is not None:
        for kind, totals_of in baseline["by_kind"].items():
            kind_zh, kind_en = KIND_NAMES.get(kind, (kind, kind))
            baseline_kinds.append({"zh": kind_zh, "en": kind_en, "lists": totals_of["lists"],
                                   "filings": totals_of["filings"], "cancelled": totals_of["cancelled"]})
    baseline_findings = [pick_language(language, f["zh"], f["en"]) for f in (baseline["notable"] if baseline else [])]

    def t(zh: str, en: str) -> str:
        """A short label in the subscriber's language ("中文 / English" for both)."""
        return " / ".join(pick_language(language, zh, en))

    rows = digest_rows(kept)
    context: dict[str, Any] = {
        "lang": language,
        "t": t,
        "pick": lambda zh, en: pick_language(language, zh, en),
        "subject": subject,
        "headlines": headlines,
        "day": day,
        "generated": local_now.strftime("%Y-%m-%d %H:%M %Z"),
        "subscriber_name": clean_name(subscriber.name),
        "subscriber": subscriber,
        "sections": sections,
        "watched": watched[:_MAX_LISTED],
        "watched_more": max(0, len(watched) - _MAX_LISTED),
        "cancelled": cancelled[:_MAX_LISTED],
        "cancelled_more": max(0, len(cancelled) - _MAX_LISTED),
        "renamed": renamed[:_MAX_LISTED],
        "renamed_more": max(0, len(renamed) - _MAX_LISTED),
        "removed": removed[:_MAX_LISTED],
        "removed_more": max(0, len(removed) - _MAX_LISTED),
        "change_labels": {k: t(*v) for k, v in CHANGE_LABELS.items()},
        "totals": totals,
        "baseline": baseline,
        "baseline_kinds": baseline_kinds,
        "baseline_findings": baseline_findings,
        "heartbeat": heartbeat and period is None,
        "empty_period": heartbeat and period is not None,
        "period": " / ".join(pick_language(language, *period_text)) if period_text else "",
        "firm_name": letterhead.firm_name,
        "introduction": letterhead.introduction.split("\n") if letterhead.introduction else [],
        "disclaimer": letterhead.disclaimer.split("\n") if letterhead.disclaimer else [],
        "row_count": len(rows),
        "watch_patterns": [clean_name(p, limit=200) for p in subscriber.watchlist],
        "unsubscribe_url": one_click,
        "unsubscribe_mailto": mailto,
        "manage_url": manage_url,
        "cac_url": "https://www.cac.gov.cn/",
        "beian_url": "https://beian.cac.gov.cn/",
    }
    text = _render("digest.txt.j2", context)
    html = _render("digest.html.j2", context)

    message = EmailMessage()
    message["MIME-Version"] = "1.0"
    _set_subject(message, subject)
    message["From"] = _address(sender_name, sender)
    message["To"] = _address(subscriber.name, subscriber.address)
    message["Date"] = format_datetime(now.astimezone(timezone.utc))
    message["Message-ID"] = message_id or make_msgid(domain=domain_of(sender))
    links = [f"<{mailto}>"] + ([f"<{one_click}>"] if one_click else [])
    set_link_header(message, "List-Unsubscribe", links)  # plain <https://…> on the wire, never encoded words
    if one_click:
        # RFC 8058: only with an https URI; the receiver POSTs List-Unsubscribe=One-Click to it.
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["List-Id"] = f"CAC filing digest <digest.cacwatch.{domain_of(sender)}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"  # the same for Exchange
    message["Content-Language"] = {"zh": "zh-CN", "en": "en"}.get(language, "zh-CN, en")

    alternative = MIMEPart()
    alternative.set_content(text, subtype="plain", charset="utf-8")
    alternative.add_alternative(html, subtype="html", charset="utf-8")
    if images:
        related = MIMEPart()
        related.set_type("multipart/related")
        del related["MIME-Version"]  # set_type adds it; it belongs on the message only
        related.set_param("type", "multipart/alternative")
        related.attach(alternative)
        for cid, png in images:
            image = MIMEPart()
            image.set_content(png, maintype="image", subtype="png", cid=cid, disposition="inline",
                              filename=f"list-sizes-{len(related.get_payload())}.png")
            related.attach(image)
        body: MIMEPart = related
    else:
        body = alternative
    if rows:
        message.set_type("multipart/mixed")
        # typeshed wants an EmailMessage; a MIMEPart is right for a sub-part (no MIME-Version).
        message.attach(body)  # type: ignore[arg-type]
        stem = f"cac-filings-{day}"
        for data, (maintype, subtype), name in (
            (rows_csv(rows), ("text", "csv"), f"{stem}.csv"),
            (rows_xlsx(rows), XLSX_TYPE, f"{stem}.xlsx"),
        ):
            part = MIMEPart()
            # bytes: base64 as they are (a text/csv str would be re-encoded and lose its BOM).
            part.set_content(data, maintype=maintype, subtype=subtype, disposition="attachment", filename=name)
            message.attach(part)  # type: ignore[arg-type]
    else:
        _adopt(message, body)
    return message


def _set_subject(message: EmailMessage, subject: str) -> None:
    """Subject as RFC 2047 encoded words folded by ``email.header.Header``.

    The default policy's folder can leave a space at the end of a line right before an
    encoded word ("1 removed ⏎ =?utf-8?b?4oCU?="), which readers unfold into a double space.
    Header encodes the whole text in words of at most 75 characters that join back exactly.
    The value is one line already (``clean_line``), so nothing can end the header early.
    """
    subject = clean_line(subject, 400)
    if subject.isascii():
        message["Subject"] = subject
    else:
        message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def _adopt(message: EmailMessage, part: MIMEPart) -> None:
    """Make ``part``'s content the message's own (no needless multipart/mixed around it)."""
    message.set_payload(part.get_payload())
    for name in ("Content-Type", "Content-Transfer-Encoding"):
        del message[name]
        value = part.get(name)
        if value is not None:
            message[name] = value



def standalone_html(message: EmailMessage) -> str:
    """The HTML part with its cid: images inlined as data: URIs, to open in a browser (previews)."""
    import base64

    html_part = message.get_body(("html",))
    if html_part is None:
        return ""
    html = str(html_part.get_content())
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_maintype() == "image":
            data = base64.b64encode(part.get_content()).decode("ascii")
            html = html.replace(f"cid:{str(cid).strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    return html
