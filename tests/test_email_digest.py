"""The digest mail, parsed back with the standard ``email`` package: MIME structure, headers,
attachments and their row counts, the inline chart, escaping of hostile values."""

from __future__ import annotations

import copy
import csv
import io
import re
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.delivery.email.digest import ROW_COLUMNS, digest_rows, render_digest, standalone_html, subject_for
from bot.delivery.email.subscribers import Subscriber
from sample_events import baseline_event, filing, published_event, revised_event

NOW = datetime(2026, 5, 6, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
TOKEN = "tok_abcdefghijklmnopqrstuv"
SIZES = [["2025-09", 410], ["2025-12", 520], ["2026-03", 610], ["2026-05", 1000]]


def parse(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def sub(**overrides: Any) -> Subscriber:
    values: dict[str, Any] = {"address": "partner@lawfirm.example", "name": "A. Partner", "language": "en", "token": TOKEN}
    values.update(overrides)
    return Subscriber(**values)


def news_events(first_size: int = 1000, second_size: int = 387) -> list[dict[str, Any]]:
    """Two new lists: 1,000 + 387 new filings, and 3 known filings cancelled in the second."""
    first = published_event(first_size)
    first["id"] = "evt_first"
    first["data"]["sizes"] = SIZES
    second = published_event(second_size, kind="genai_service")
    second["id"] = "evt_second"
    second["data"]["name"] = "生成式人工智能服务已备案信息（2026年5月）"
    second["data"]["new"] = [filing(5000 + i, kind="genai_service") for i in range(second_size)]
    second["data"]["changed"] = [
        {"kind": "genai_service", "filing_number": f"Beijing-Old-{i}", "changes": {"status": ["active", "cancelled"]},
         "name": f"旧模型{i}", "entity": f"北京旧公司{i}"}
        for i in range(3)
    ]
    second["data"]["counts"] = {"new": second_size, "changed": 3, "removed": 0, "cancelled": 3, "renamed": 0}
    return [first, second]


def render(events: list[dict[str, Any]] | None = None, subscriber: Subscriber | None = None, **kwargs: Any) -> EmailMessage:
    kwargs.setdefault("sender", "watch@cacwatch.example")
    kwargs.setdefault("public_base_url", "https://cacwatch.example")
    return parse(render_digest(news_events() if events is None else events, subscriber or sub(), now=NOW, **kwargs))


_NEWS: dict[str, EmailMessage] = {}


def news() -> EmailMessage:
    """The 1,390-row digest, rendered once for the whole module (it takes about a second)."""
    if "en" not in _NEWS:
        _NEWS["en"] = render()
    return _NEWS["en"]


def small_events() -> list[dict[str, Any]]:
    event = published_event(3)
    event["data"]["sizes"] = SIZES
    return [event]


def structure(part: EmailMessage, depth: int = 0) -> list[str]:
    lines = ["  " * depth + part.get_content_type()]
    if part.is_multipart():
        for child in part.iter_parts():
            lines += structure(child, depth + 1)  # type: ignore[arg-type]
    return lines


def attachment(message: EmailMessage, suffix: str) -> bytes:
    for part in message.iter_attachments():
        if (part.get_filename() or "").endswith(suffix):
            data = part.get_payload(decode=True)  # the bytes as sent (get_content decodes text/csv)
            assert isinstance(data, bytes)
            return data
    raise AssertionError(f"no {suffix} attachment")


def csv_rows(message: EmailMessage) -> list[list[str]]:
    data = attachment(message, ".csv")
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with the UTF-8 BOM for Excel"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def xlsx_rows(message: EmailMessage) -> list[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(attachment(message, ".xlsx")), read_only=True)
    return list(workbook["filings"].iter_rows(values_only=True))


# --- structure and headers ------------------------------------------------------------------------


def test_mime_structure() -> None:
    message = news()
    assert structure(message) == [
        "multipart/mixed",
        "  multipart/related",
        "    multipart/alternative",
        "      text/plain",
        "      text/html",
        "    image/png",
        "  text/csv",
        "  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    related = next(message.iter_parts())
    assert related.get_param("type") == "multipart/alternative"
    names = sorted(p.get_filename() for p in message.iter_attachments())
    assert names == ["cac-filings-2026-05-06.csv", "cac-filings-2026-05-06.xlsx"]


def test_subject_states_the_news() -> None:
    assert news()["Subject"] == "CAC: 2 new lists, 1,387 new filings, 3 cancellations — 2026-05-06"
    # Counts describe whole lists (a split event carries only part of the rows): few rows suffice here.
    events = news_events(3, 2)
    events[0]["data"]["counts"] = {"new": 1000, "changed": 0, "removed": 0}
    events[1]["data"]["counts"]["new"] = 387
    zh = render(events, sub(language="zh"), chart=False)["Subject"]
    assert zh == "网信办：新名单2份，新增备案1,387项，注销3项 — 2026-05-06"
    both = render(events, sub(language="both"), chart=False)["Subject"]
    assert both.startswith("CAC: 2 new lists, 1,387 new filings") and "新增备案1,387项" in both


def test_subject_date_is_the_subscribers_day() -> None:
    late = datetime(2026, 5, 6, 20, 0, tzinfo=timezone.utc)  # already May 7 in Shanghai, still May 6 in New York
    shanghai = parse(render_digest(small_events(), sub(), now=late, chart=False))
    new_york = parse(render_digest(small_events(), sub(timezone="America/New_York"), now=late, chart=False))
    assert shanghai["Subject"].endswith("2026-05-07") and new_york["Subject"].endswith("2026-05-06")


def test_headers() -> None:
    message = news()
    assert message["From"].addresses[0].addr_spec == "watch@cacwatch.example"
    assert [a.addr_spec for a in message["To"].addresses] == ["partner@lawfirm.example"]
    assert message["To"].addresses[0].display_name == "A. Partner"
    assert re.fullmatch(r"<[^<>@\s]+@cacwatch\.example>", message["Message-ID"])
    assert message["Date"].datetime == NOW
    unsubscribe = message["List-Unsubscribe"]
    assert f"<mailto:watch@cacwatch.example?subject=unsubscribe-{TOKEN}>" in unsubscribe
    assert f"<https://cacwatch.example/email/unsubscribe?token={TOKEN}>" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["MIME-Version"] == "1.0"


def test_one_click_only_with_a_public_url() -> None:
    message = render(small_events(), public_base_url=None, chart=False)
    assert message["List-Unsubscribe"] == f"<mailto:watch@cacwatch.example?subject=unsubscribe-{TOKEN}>"
    assert message["List-Unsubscribe-Post"] is None


def _raw_header(wire: bytes, name: bytes) -> list[bytes]:
    """The physical lines of one header as flattened (the first plus its continuation lines)."""
    lines = wire.split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.lower().startswith(name.lower() + b":"))
    end = start + 1
    while lines[end][:1] in (b" ", b"\t"):
        end += 1
    return lines[start:end]


@pytest.mark.parametrize("smtputf8", [False, True])
def test_list_unsubscribe_is_plain_on_the_wire(smtputf8: bool) -> None:
    from aiosmtplib.email import flatten_message  # what aiosmtplib.send puts on the wire

    token = "Zq0-" + "x7_Kp2" * 7  # as long as a real secrets.token_urlsafe(32)
    base = "https://cacwatch.partner-digests.example/some/deeper/path"
    message = render_digest(small_events(), sub(token=token, name="李雷"), now=NOW, sender="watch@cacwatch.example",
                            public_base_url=base)
    wire = flatten_message(message, utf8=smtputf8)
    lines = _raw_header(wire, b"List-Unsubscribe")
    assert b"=?" not in b"".join(lines)  # no RFC 2047 encoded words
    assert all(len(line) <= 998 for line in lines)
    # folded only at the whitespace after a comma, never inside a URI
    assert all(line.endswith(b",") for line in lines[:-1])
    value = b"".join(line.strip() if i else line.split(b":", 1)[1].strip() for i, line in enumerate(lines))
    mailto = f"<mailto:watch@cacwatch.example?subject=unsubscribe-{token}>"
    one_click = f"<{base}/email/unsubscribe?token={token}>"
    assert value.decode("ascii") == f"{mailto},{one_click}"
    parsed = message_from_bytes(wire, policy=policy.default)
    assert str(parsed["List-Unsubscribe"]) == f"{mailto}, {one_click}"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the message's own flattening (previews, .eml files) gives the same plain form
    assert b"=?" not in b"".join(_raw_header(message.as_bytes(policy=policy.SMTP), b"List-Unsubscribe"))
    # and so does the message as it comes back from `cacwatch run`'s rendering child (by pickle)
    import pickle

    again = flatten_message(pickle.loads(pickle.dumps(message)), utf8=smtputf8)
    assert _raw_header(again, b"List-Unsubscribe") == lines


def test_message_id_can_be_given_for_stable_retries() -> None:
    assert render(small_events(), chart=False, message_id="<cacwatch.abc@cacwatch.example>")["Message-ID"] == "<cacwatch.abc@cacwatch.example>"


# --- attachments --------------------------------------------------------------------------------


def test_csv_and_xlsx_hold_every_new_and_changed_row() -> None:
    message = news()
    rows = csv_rows(message)
    assert rows[0] == list(ROW_COLUMNS)
    assert len(rows) - 1 == 1000 + 387 + 3
    changes = [r[ROW_COLUMNS.index("change")] for r in rows[1:]]
    assert changes.count("new") == 1387 and changes.count("cancelled") == 3
    cancelled = next(r for r in rows[1:] if r[0] == "cancelled")
    assert cancelled[ROW_COLUMNS.index("changes")] == "status: active → cancelled"
    assert "北京示例科技有限公司0" in {r[ROW_COLUMNS.index("entity")] for r in rows}  # Chinese survives the round trip
    sheet = xlsx_rows(message)
    # The columns of `cacwatch export --changes`; the sheet headed in Chinese and English.
    assert [str(h).split("\n")[1] for h in sheet[0]][:3] == ["Change", "List", "Kind"]
    assert len(sheet[0]) == len(ROW_COLUMNS)
    assert sheet[1][0] == "新增 new"
    assert len(sheet) - 1 == 1390
    assert sheet[1][ROW_COLUMNS.index("filing_number")] == rows[1][ROW_COLUMNS.index("filing_number")]


def test_spreadsheet_cells_never_become_formulas() -> None:
    event = published_event(2)
    event["data"]["new"][0]["entity"] = '=HYPERLINK("http://evil.example","click")'
    event["data"]["new"][1]["name"] = "+1+cmd|' /C calc'!A0"
    message = render([event])
    rows = csv_rows(message)
    assert rows[1][ROW_COLUMNS.index("entity")].startswith("'=HYPERLINK")
    assert rows[2][ROW_COLUMNS.index("name")].startswith("'+1")
    workbook = load_workbook(io.BytesIO(attachment(message, ".xlsx")))
    cell = workbook["filings"].cell(row=2, column=ROW_COLUMNS.index("entity") + 1)
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil.example","click")'


def test_split_parts_become_one_section() -> None:
    event = published_event(6)
    parts = []
    for index, chunk in enumerate((event["data"]["new"][:4], event["data"]["new"][4:]), start=1):
        part = copy.deepcopy(event)
        part["id"] = f"{event['id']}-p{index}"
        part["data"]["new"] = chunk
        part["data"]["part"] = {"index": index, "total": 2}
        if index > 1:
            part["data"]["notable"] = []
        parts.append(part)
    message = render(parts)
    assert message["Subject"] == "CAC: 1 new list, 6 new filings — 2026-05-06"
    assert len(csv_rows(message)) - 1 == 6
    assert message.get_body(("plain",)).get_content().count("第十七批境内深度合成服务算法备案清单\n") == 1


def test_province_filter_narrows_the_attachment() -> None:
    events = news_events(20, 5)
    events[0]["data"]["new"][0]["province"] = "上海市"
    message = render(events, sub(provinces=("上海",)))
    assert len(csv_rows(message)) - 1 == 1
    assert "Filtered to your provinces" in message.get_body(("plain",)).get_content()


# --- body -------------------------------------------------------------------------------------------


def test_inline_chart_is_referenced_from_the_html() -> None:
    message = news()
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    assert image.get_content_disposition() == "inline"
    html = message.get_body(("html",)).get_content()
    assert f'src="cid:{cid}"' in html
    assert "data:image/png;base64," in standalone_html(message)


def test_no_chart_without_sizes() -> None:
    events = small_events()
    del events[0]["data"]["sizes"]
    message = render(events)
    assert structure(message)[:4] == ["multipart/mixed", "  multipart/alternative", "    text/plain", "    text/html"]
    # … unless the notifier supplies them
    with_sizes = render(events, chart_sizes={"deep_synthesis": [("2026-03", 5), ("2026-05", 1000)]})
    assert "image/png" in [p.get_content_type() for p in with_sizes.walk()]


def test_order_watched_lists_then_cancellations() -> None:
    events = news_events(25, 5)
    events[0]["data"]["new"][7]["entity"] = "北京百度网讯科技有限公司"
    text = render(events, sub(watchlist=("百度网讯",), watch_only=False)).get_body(("plain",)).get_content()
    watched = text.index("WATCHED COMPANIES")
    first_list = text.index("第十七批境内深度合成服务算法备案清单")
    second_list = text.index("生成式人工智能服务已备案信息（2026年5月）")
    cancellations = text.index("CANCELLATIONS, RENAMES AND REMOVALS")
    assert watched < first_list < second_list < cancellations
    assert "北京百度网讯科技有限公司" in text[watched:first_list]
    assert "Size rank: 2 of 7 lists" in text
    assert "https://www.cac.gov.cn/2026-05/06/c_1.htm" in text
    assert "15 more new filings in the attachment." in text


def test_revised_list_renames_and_removals() -> None:
    event = revised_event(2, 1)
    event["data"]["changed"][1]["changes"] = {"entity": ["北京旧名有限公司", "北京新名有限公司"]}
    event["data"]["counts"] = {"new": 0, "changed": 2, "removed": 1}
    message = render([event])
    assert message["Subject"] == "CAC: 1 revised list, 1 cancellation, 1 rename, 1 removed — 2026-05-06"
    text = message.get_body(("plain",)).get_content()
    assert "filer: 北京旧名有限公司 → 北京新名有限公司" in text
    assert len(csv_rows(message)) - 1 == 3


def test_hostile_values_are_escaped_in_html() -> None:
    event = published_event(2)
    event["data"]["title"] = '<img src=x onerror="alert(1)">公告'
    event["data"]["page_url"] = "javascript:alert(document.cookie)"
    event["data"]["attachment_url"] = 'https://www.cac.gov.cn/a.xlsx"><script>alert(2)</script>'
    event["data"]["new"][0]["entity"] = "<script>alert('x')</script>有限公司"
    event["data"]["notable"][0]["en"] = "</td></tr></table><b>bold</b>"
    html = render([event], sub(name="<script>evil()</script>")).get_body(("html",)).get_content()
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;有限公司" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;公告" in html
    assert "javascript:" not in html  # not an http(s) link: no link at all
    assert 'href="https://www.cac.gov.cn/a.xlsx' not in html
    assert "&lt;script&gt;evil()&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "name",
    ["Evil\r\nBcc: victim@example.com", "Evil\nSubject: spoofed", "x\r\n\r\n<html>body</html>", 'A "quoted" <b@c.d>, e@f.g'],
)
def test_header_injection_is_blocked(name: str) -> None:
    message = render(small_events(), sub(name=name), sender_name=name, chart=False)
    assert message["Bcc"] is None
    assert message.get_all("Subject") == [message["Subject"]] and "spoofed" not in message["Subject"]
    assert [a.addr_spec for a in message["To"].addresses] == ["partner@lawfirm.example"]
    assert [a.addr_spec for a in message["From"].addresses] == ["watch@cacwatch.example"]
    raw = message.as_bytes()
    headers = raw.split(b"\n\n", 1)[0]
    assert not re.search(rb"(?m)^(Bcc|Subject: spoofed)", headers)


def test_hostile_subscriber_address_is_refused() -> None:
    with pytest.raises(ValueError):
        render(small_events(), sub(address="partner@lawfirm.example\r\nBcc: victim@example.com"))


# --- baseline and heartbeat ------------------------------------------------------------------------


def test_baseline_is_one_short_mail() -> None:
    message = render([baseline_event()])
    assert message["Subject"] == "CAC watch started: 24 lists, 3,210 filings on record — 2026-05-06"
    assert structure(message) == ["multipart/alternative", "  text/plain", "  text/html"]
    text = message.get_body(("plain",)).get_content()
    assert "WATCHING STARTED" in text and "2,900 filings" in text
    assert message["List-Unsubscribe"]


def test_heartbeat_when_nothing_happened() -> None:
    message = render([])
    assert message["Subject"] == "CAC: no new filings this week — 2026-05-06"
    assert list(message.iter_attachments()) == []
    zh = render([], sub(language="zh"))
    assert zh["Subject"] == "网信办：本周无新备案 — 2026-05-06"


def test_subject_for_thousands() -> None:
    assert subject_for("zh", "2026-05-06", baseline={"counts": {"lists": 1, "filings": 12345}}).endswith(
        "已记录名单1份、备案12,345项 — 2026-05-06"
    )


def test_digest_rows_without_subscriber() -> None:
    rows = digest_rows(news_events())
    assert len(rows) == 1390 and rows[0]["list"] == "第十七批境内深度合成服务算法备案清单"


def test_digest_rows_name_the_event_part_that_announced_them() -> None:
    from bot.changes.event_schema import with_seq

    # As the outbox hands them over: each part with its seq.
    events: list[Any] = [with_seq(event, 40 + index) for index, event in enumerate(news_events())]
    rows = digest_rows(events)
    by_event = {(row["event_id"], row["seq"]) for row in rows}
    assert by_event == {(event["id"], str(event["seq"])) for event in events if event["type"] != "baseline.established"}
    first = [row["filing_number"] for row in rows if row["event_id"] == events[0]["id"]]
    assert first == [r["filing_number"] for r in events[0]["data"]["new"]] + [
        c["filing_number"] for c in events[0]["data"]["changed"]] + [r["filing_number"] for r in events[0]["data"]["removed"]]


def test_odd_links_take_the_ordinary_header_path() -> None:
    from bot.delivery.email.headers import LinkHeader, set_link_header

    message = EmailMessage()
    set_link_header(message, "List-Unsubscribe", ["<mailto:a@b.example>", "<https://x.example/u?t=1>"])
    assert isinstance(message["List-Unsubscribe"], LinkHeader)
    # a space (or non-ASCII) cannot be written as is: the ordinary path encodes it
    set_link_header(message, "List-Unsubscribe", ["<https://x.example/u v>"])
    assert not isinstance(message["List-Unsubscribe"], LinkHeader)
    assert len(message.get_all("List-Unsubscribe") or []) == 1
    # and a CR/LF is refused there outright: no header injection
    with pytest.raises(ValueError):
        set_link_header(message, "List-Unsubscribe", ["<https://x.example/u\r\nBcc: victim@example.com>"])


# --- the sender's letterhead and period reports ------------------------------------------------


def test_letterhead_is_escaped_in_html_and_shown_in_text() -> None:
    from bot.delivery.email.digest import Letterhead

    head = Letterhead(
        firm_name="Acme <b>& Partners</b>",
        introduction="Dear clients,\n<script>alert(1)</script> the month in CAC filings.",
        disclaimer="This is not legal advice.\nAcme & Partners LLP",
    )
    message = render(small_events(), letterhead=head, chart=False)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<script>" not in html and "<b>& Partners</b>" not in html
    assert "Acme &lt;b&gt;&amp; Partners&lt;/b&gt;" in html
    assert "Dear clients,<br>&lt;script&gt;alert(1)&lt;/script&gt; the month in CAC filings." in html
    assert "This is not legal advice.<br>Acme &amp; Partners LLP" in html
    for line in ("Acme <b>& Partners</b>", "Dear clients,", "<script>alert(1)</script> the month in CAC filings.",
                 "This is not legal advice.", "Acme & Partners LLP"):
        assert line in text.splitlines()
    assert str(message["Subject"]).startswith("Acme <b>& Partners</b> · CAC:")
    plain = render(small_events(), chart=False)
    assert "firm-name" not in plain.get_body(("html",)).get_content()


def test_period_report_names_its_span_and_says_when_nothing_happened() -> None:
    from datetime import date

    from bot.delivery.email.digest import Period

    period = Period(date(2026, 3, 1), date(2026, 5, 31))
    message = render(small_events(), period=period, chart=False)
    assert str(message["Subject"]).startswith("Period report 2026-03-01 – 2026-05-31: CAC:")
    assert "Period report 2026-03-01 – 2026-05-31" in message.get_body(("html",)).get_content()
    empty = render([], period=period)
    assert empty["Subject"] == "Period report 2026-03-01 – 2026-05-31: no new list"
    text = empty.get_body(("plain",)).get_content()
    assert "in this period" in text and "this week" not in text
    zh = render([], sub(language="zh"), period=period)
    assert zh["Subject"] == "报告期 2026-03-01 – 2026-05-31：无新名单"


def test_attachments_carry_the_english_columns_and_the_company_group() -> None:
    event = published_event(2)
    event["data"]["new"] = [filing(1, entity="北京抖音信息服务有限公司"), {**filing(2), "role": "technical_supporter", "category": "生成合成类"}]
    event["data"]["counts"] = {**event["data"]["counts"], "new": 2}
    rows = csv_rows(render([event], chart=False))
    header, body = rows[0], rows[1:]
    by = [dict(zip(header, row)) for row in body]
    assert header[-8:] == ["role_en", "category_en", "registration_en", "group", "group_en", "changes", "event_id", "seq"]
    assert (by[0]["group"], by[0]["group_en"], by[0]["role_en"]) == ("字节跳动", "ByteDance", "service provider")
    assert (by[1]["group"], by[1]["role_en"], by[1]["category_en"]) == ("", "technical supporter", "generation & synthesis")
