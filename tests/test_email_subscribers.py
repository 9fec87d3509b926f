"""Email subscribers: address validation, cadence boundaries across time zones, the weekly
heartbeat, filters (kinds, provinces, watchlist), and the subscriber table (add, remove,
unsubscribe by token, config merge) on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.settings.config import settings_from_mapping
from bot.delivery.email.subscribers import (
    Subscriber,
    add_subscriber,
    clean_name,
    config_subscribers,
    ensure_token,
    heartbeat_due,
    load_subscribers,
    narrow_event,
    next_due,
    normalize_address,
    parse_weekday,
    remove_subscriber,
    unsubscribe,
    weekly_slot,
)
from sample_events import baseline_event, filing, published_event, revised_event
from storage.db import Database

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- addresses and names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("legal@example.com", "legal@example.com"),
        ("  Partner.Name+cac@Law-Firm.Example.CN ", "partner.name+cac@law-firm.example.cn"),
        ("x@xn--fiqs8s.cn", "x@xn--fiqs8s.cn"),
    ],
)
def test_valid_addresses(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "legal@example.com\r\nBcc: victim@example.com",
        "legal@example.com\nRCPT TO:<x@y.z>",
        "Legal <legal@example.com>",  # display names belong in `name`, not in the address
        "legal@localhost",
        "legal@@example.com",
        "legal.@example.com",
        "le gal@example.com",
        "律师@example.com",
        "a" * 65 + "@example.com",
        "",
    ],
)
def test_invalid_addresses(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_address(raw)


def test_clean_name_removes_line_breaks_and_controls() -> None:
    assert clean_name("Evil\r\nBcc: x@y.z\x00") == "Evil Bcc: x@y.z"
    assert clean_name("金杜律师事务所（北京）") == "金杜律师事务所（北京）"  # full-width kept


def test_config_rejects_header_injection_in_recipients() -> None:
    from bot.settings.config import ConfigError

    with pytest.raises(ConfigError, match="recipients\\[0\\]"):
        settings_from_mapping(
            {"notify": {"email": {"smtp_host": "h", "sender": "w@example.com", "recipients": ["a@b.cn\r\nBcc: c@d.cn"]}}},
            env={},
        )


# --- cadence -------------------------------------------------------------------------------------


def daily(at: str = "08:00", tz: str = "Asia/Shanghai") -> Subscriber:
    return Subscriber(address="a@example.com", cadence="daily", at=at, timezone=tz)


def weekly(weekday: str, at: str, tz: str) -> Subscriber:
    return Subscriber(address="a@example.com", cadence="weekly", weekday=weekday, at=at, timezone=tz)


def test_immediate_is_now() -> None:
    now = utc(2026, 5, 6, 3, 4, 5)
    assert next_due(Subscriber(address="a@example.com"), now) == now


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 23:59 UTC is 07:59 the next morning in Shanghai: due one minute later, not tomorrow.
        (utc(2026, 5, 5, 23, 59), utc(2026, 5, 6, 0, 0)),
        # exactly 08:00 in Shanghai: due now
        (utc(2026, 5, 6, 0, 0), utc(2026, 5, 6, 0, 0)),
        # one second late: the next day
        (utc(2026, 5, 6, 0, 0, 1), utc(2026, 5, 7, 0, 0)),
        # 16:00 UTC is already midnight in Shanghai (May 7): due 08:00 May 7
        (utc(2026, 5, 6, 16, 0), utc(2026, 5, 7, 0, 0)),
        # 15:59 UTC is 23:59 May 6 in Shanghai: still 08:00 May 7
        (utc(2026, 5, 6, 15, 59), utc(2026, 5, 7, 0, 0)),
    ],
)
def test_daily_shanghai(now: datetime, expected: datetime) -> None:
    assert next_due(daily(), now) == expected


def test_daily_accepts_naive_utc_and_other_offsets() -> None:
    naive = datetime(2026, 5, 5, 23, 59)
    assert next_due(daily(), naive) == utc(2026, 5, 6, 0, 0)
    berlin = datetime(2026, 5, 6, 1, 59, tzinfo=timezone(timedelta(hours=2)))  # = 23:59 UTC
    assert next_due(daily(), berlin) == utc(2026, 5, 6, 0, 0)


def test_daily_across_daylight_saving_change() -> None:
    sub = daily("08:00", "America/New_York")
    # Saturday 09:00 EST (UTC-5): next is Sunday 08:00, which is EDT (UTC-4) after the change.
    assert next_due(sub, utc(2026, 3, 7, 14, 0)) == utc(2026, 3, 8, 12, 0)
    # In winter the same wall-clock time is 13:00 UTC.
    assert next_due(sub, utc(2026, 3, 1, 14, 0)) == utc(2026, 3, 2, 13, 0)


def test_daily_at_a_time_that_does_not_exist_that_day() -> None:
    # 02:30 does not exist in New York on 2026-03-08; it still resolves to one moment that day.
    due = next_due(daily("02:30", "America/New_York"), utc(2026, 3, 8, 5, 0))
    assert utc(2026, 3, 8, 6, 0) <= due <= utc(2026, 3, 8, 8, 0)


@pytest.mark.parametrize(
    ("sub", "now", "expected"),
    [
        # Monday 08:00 Shanghai = Monday 00:00 UTC; Sunday 23:59 UTC is Monday 07:59 there.
        (weekly("monday", "08:00", "Asia/Shanghai"), utc(2026, 5, 10, 23, 59), utc(2026, 5, 11, 0, 0)),
        # Sunday 15:00 UTC is Sunday 23:00 in Shanghai: tomorrow morning
        (weekly("monday", "08:00", "Asia/Shanghai"), utc(2026, 5, 10, 15, 0), utc(2026, 5, 11, 0, 0)),
        # just after the slot: a week later
        (weekly("monday", "08:00", "Asia/Shanghai"), utc(2026, 5, 11, 0, 0, 1), utc(2026, 5, 18, 0, 0)),
        # Friday 17:00 London (BST) = 16:00 UTC, asked on a Wednesday
        (weekly("fri", "17:00", "Europe/London"), utc(2026, 5, 6, 12, 0), utc(2026, 5, 8, 16, 0)),
        # Los Angeles Monday 09:00 PDT = Monday 16:00 UTC; at Monday 10:00 UTC it is still Monday 03:00 there
        (weekly("monday", "09:00", "America/Los_Angeles"), utc(2026, 5, 11, 10, 0), utc(2026, 5, 11, 16, 0)),
    ],
)
def test_weekly(sub: Subscriber, now: datetime, expected: datetime) -> None:
    assert next_due(sub, now) == expected


def test_weekday_names() -> None:
    assert parse_weekday("Monday") == 0 and parse_weekday("sun") == 6
    with pytest.raises(ValueError):
        parse_weekday("someday")


# --- heartbeat -----------------------------------------------------------------------------------


def test_heartbeat_after_a_quiet_week_once() -> None:
    sub = weekly("monday", "08:00", "Asia/Shanghai")
    slot = utc(2026, 5, 11, 0, 0)
    assert weekly_slot(sub, utc(2026, 5, 11, 0, 30)) == slot
    assert weekly_slot(sub, utc(2026, 5, 10, 23, 0)) == slot - timedelta(days=7)
    # quiet week: due once after the slot …
    assert heartbeat_due(sub, now=utc(2026, 5, 11, 0, 30), last_sent_at=utc(2026, 5, 1), last_heartbeat_at=None)
    # … not before it
    assert not heartbeat_due(sub, now=utc(2026, 5, 10, 23, 0), last_sent_at=utc(2026, 4, 25), last_heartbeat_at=utc(2026, 5, 4, 0, 5))
    # … and not twice
    assert not heartbeat_due(
        sub, now=utc(2026, 5, 11, 6, 0), last_sent_at=utc(2026, 5, 1), last_heartbeat_at=utc(2026, 5, 11, 0, 30)
    )
    # a digest went out during the week: no heartbeat
    assert not heartbeat_due(sub, now=utc(2026, 5, 11, 0, 30), last_sent_at=utc(2026, 5, 8), last_heartbeat_at=None)
    # disabled, or unsubscribed
    assert not heartbeat_due(sub, now=utc(2026, 5, 11, 0, 30), last_sent_at=None, last_heartbeat_at=None, enabled=False)
    gone = Subscriber(address="a@example.com", unsubscribed=True)
    assert not heartbeat_due(gone, now=utc(2026, 5, 11, 0, 30), last_sent_at=None, last_heartbeat_at=None)


# --- filters -------------------------------------------------------------------------------------


def _mixed_event() -> dict:
    event = published_event(0)
    event["data"]["new"] = [
        filing(1, entity="北京字节跳动科技有限公司"),
        {**filing(2, entity="上海某某智能科技有限公司"), "province": "上海市",
         "filing_number": "网信算备310104000000020001号"},
    ]
    event["data"]["changed"] = [
        # no province in a changed entry: taken from the number's region code (44 → 广东省)
        {"kind": "deep_synthesis", "filing_number": "网信算备440305000000030001号",
         "changes": {"remark": ["", "已注销"]}, "name": "x", "entity": "深圳某公司"},
    ]
    event["data"]["counts"] = {"new": 2, "changed": 1, "removed": 0}
    return event


def test_kinds_filter() -> None:
    sub = Subscriber(address="a@example.com", kinds=("genai_service",))
    assert narrow_event(published_event(2), sub) is None
    assert narrow_event(published_event(2, kind="genai_service"), sub) is not None
    assert narrow_event(baseline_event(), sub) is not None  # the baseline goes to everyone


@pytest.mark.parametrize("wanted", ["北京", "北京市", "beijing", "Beijing"])
def test_province_filter_narrows_rows(wanted: str) -> None:
    event = _mixed_event()
    original = copy.deepcopy(event)
    narrowed = narrow_event(event, Subscriber(address="a@example.com", provinces=(wanted,)))
    assert narrowed is not None
    assert [r["entity"] for r in narrowed["data"]["new"]] == ["北京字节跳动科技有限公司"]
    assert narrowed["data"]["changed"] == []
    assert narrowed["data"]["narrowed"] is True
    assert event == original  # the shared event is never modified


def test_province_filter_uses_number_for_changed_rows_and_drops_empty_events() -> None:
    narrowed = narrow_event(_mixed_event(), Subscriber(address="a@example.com", provinces=("广东",)))
    assert narrowed is not None and len(narrowed["data"]["changed"]) == 1 and narrowed["data"]["new"] == []
    assert narrow_event(_mixed_event(), Subscriber(address="a@example.com", provinces=("西藏",))) is None


def test_watchlist_filter_fuzzy() -> None:
    watcher = Subscriber(address="a@example.com", watchlist=("字节跳动",))
    assert narrow_event(_mixed_event(), watcher) is not None
    assert narrow_event(published_event(3), watcher) is None  # no watched company in it
    # watch_only off: the watchlist only highlights, every list still arrives
    relaxed = Subscriber(address="a@example.com", watchlist=("字节跳动",), watch_only=False)
    assert narrow_event(published_event(3), relaxed) is not None


def test_watchlist_sees_renames_in_changed_rows() -> None:
    event = revised_event(1, 0)
    event["data"]["changed"][0]["changes"] = {"entity": ["北京字节跳动科技有限公司", "北京抖音科技有限公司"]}
    event["data"]["changed"][0]["entity"] = "北京抖音科技有限公司"
    assert narrow_event(event, Subscriber(address="a@example.com", watchlist=("字节跳动",))) is not None


def test_unsubscribed_gets_nothing() -> None:
    gone = Subscriber(address="a@example.com", unsubscribed=True)
    assert narrow_event(published_event(1), gone) is None
    assert narrow_event(baseline_event(), gone) is None


# --- config and database ---------------------------------------------------------------------------


def _settings(**email: object):
    values = {"smtp_host": "smtp.example.com", "sender": "watch@example.com", "recipients": ["legal@example.com"]}
    values.update(email)
    return settings_from_mapping({"notify": {"email": values}}, env={}).notify.email


def test_config_subscribers_defaults_and_overrides() -> None:
    settings = _settings(
        digest="daily",
        digest_at="07:30",
        language="en",
        subscribers=[
            {"address": "partner@firm.example", "name": "A Partner", "cadence": "weekly", "weekday": "friday",
             "timezone": "Europe/London", "kinds": ["genai_service"], "provinces": ["北京"], "watchlist": ["百度"]},
            {"address": "LEGAL@Example.com", "language": "zh"},  # overrides the plain recipient
        ],
    )
    subs = {s.address: s for s in config_subscribers(settings)}
    assert set(subs) == {"legal@example.com", "partner@firm.example"}
    assert subs["legal@example.com"].language == "zh" and subs["legal@example.com"].cadence == "daily"
    assert subs["legal@example.com"].at == "07:30"
    partner = subs["partner@firm.example"]
    assert (partner.cadence, partner.weekday, partner.timezone) == ("weekly", "friday", "Europe/London")
    assert partner.kinds == ("genai_service",) and partner.watchlist == ("百度",)


def test_config_subscriber_errors_name_the_key() -> None:
    from bot.settings.config import ConfigError

    with pytest.raises(ConfigError, match="subscribers.0"):
        _settings(subscribers=[{"address": "x@example.com", "at": "8am"}])
    with pytest.raises(ConfigError, match="subscribers.0"):
        _settings(subscribers=[{"address": "x@example.com", "kinds": ["deepfake"]}])


def test_subscriber_table(database: Database) -> None:
    settings = _settings()
    with database.session() as session:
        row, created = add_subscriber(
            session,
            Subscriber(address="Partner@Firm.example", name="P\r\nBcc: x", cadence="daily", at="9:05",
                       provinces=("北京",), watchlist=("百度",)),
        )
        assert created and row.address == "partner@firm.example" and row.name == "P Bcc: x" and row.at == "09:05"
        token = row.token
    with database.session() as session:
        subs = {s.address: s for s in load_subscribers(settings, session)}
        assert set(subs) == {"legal@example.com", "partner@firm.example"}
        assert subs["partner@firm.example"].source == "db" and subs["partner@firm.example"].token == token
        # config recipients get a stored random token the first time a mail goes out
        legal = ensure_token(session, subs["legal@example.com"])
        assert legal.valid_token() and legal.token != token
    with database.session() as session:
        assert unsubscribe(session, f"unsubscribe-{legal.token}") == "legal@example.com"
        assert unsubscribe(session, "not-a-token-at-all-xxxxxxxx") is None
        assert unsubscribe(session, "short") is None
    with database.session() as session:
        subs = {s.address: s for s in load_subscribers(settings, session)}
        assert subs["legal@example.com"].unsubscribed and not subs["partner@firm.example"].unsubscribed
        # re-adding re-subscribes and keeps the token
        row, created = add_subscriber(session, Subscriber(address="legal@example.com", cadence="weekly"))
        assert not created and row.token == legal.token and not row.unsubscribed
    with database.session() as session:
        assert remove_subscriber(session, "Partner@firm.example")
        assert not remove_subscriber(session, "Partner@firm.example")
        # an address that is in config.yaml stays as an unsubscribed row
        assert remove_subscriber(session, "legal@example.com", configured=True)
    with database.session() as session:
        subs = {s.address: s for s in load_subscribers(settings, session)}
        assert set(subs) == {"legal@example.com"} and subs["legal@example.com"].unsubscribed


def test_add_subscriber_validates(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'cacwatch.db'}")
    database.migrate()
    with database.session() as session:
        with pytest.raises(ValueError):
            add_subscriber(session, Subscriber(address="x@example.com", at="24:00"))
        with pytest.raises(ValueError):
            add_subscriber(session, Subscriber(address="x@example.com", timezone="Nowhere/City"))
        with pytest.raises(ValueError):
            add_subscriber(session, Subscriber(address="x@example.com\r\n"))


def monthly(at: str, tz: str) -> Subscriber:
    return Subscriber(address="a@example.com", cadence="monthly", at=at, timezone=tz)


@pytest.mark.parametrize(
    ("sub", "now", "expected"),
    [
        # The 1st at 08:00 Shanghai = the 1st 00:00 UTC; mid-month: the next month's 1st.
        (monthly("08:00", "Asia/Shanghai"), utc(2026, 5, 15, 12, 0), utc(2026, 6, 1, 0, 0)),
        # exactly the slot: due now; one second late: a month later
        (monthly("08:00", "Asia/Shanghai"), utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 0, 0)),
        (monthly("08:00", "Asia/Shanghai"), utc(2026, 6, 1, 0, 0, 1), utc(2026, 7, 1, 0, 0)),
        # across the year's end
        (monthly("08:00", "Asia/Shanghai"), utc(2026, 12, 20, 0, 0), utc(2027, 1, 1, 0, 0)),
        # 31 May 23:30 UTC is already 1 June 07:30 in Shanghai: due half an hour later
        (monthly("08:00", "Asia/Shanghai"), utc(2026, 5, 31, 23, 30), utc(2026, 6, 1, 0, 0)),
        # New York, 1 April 09:00 EDT = 13:00 UTC
        (monthly("09:00", "America/New_York"), utc(2026, 3, 10, 0, 0), utc(2026, 4, 1, 13, 0)),
    ],
)
def test_monthly(sub: Subscriber, now: datetime, expected: datetime) -> None:
    assert next_due(sub, now) == expected


def test_cadence_is_checked_by_one_function() -> None:
    from bot.settings.config import EmailSettings
    from bot.settings.email_validation import CADENCES, check_cadence

    assert [check_cadence(c) for c in CADENCES] == ["immediate", "daily", "weekly", "monthly"]
    assert check_cadence(" Monthly ") == "monthly"
    for bad in ("yearly", "", None, 3):
        with pytest.raises(ValueError, match="cadence"):
            check_cadence(bad)
    settings = EmailSettings(smtp_host="localhost", sender="a@example.com", digest="monthly",
                             subscribers=[{"address": "b@example.com", "cadence": "monthly"}])  # type: ignore[list-item]
    assert settings.digest == "monthly" and settings.subscribers[0].cadence == "monthly"
    with pytest.raises(ValueError):
        EmailSettings(smtp_host="localhost", sender="a@example.com", digest="yearly")  # type: ignore[arg-type]


def test_letterhead_is_bounded_and_cleaned() -> None:
    from bot.settings.config import EmailSettings

    settings = EmailSettings(smtp_host="localhost", sender="a@example.com", firm_name="  Acme\n& Partners ",
                             introduction="Dear clients,\r\nhere is the news.\x00", disclaimer="Not legal advice.")
    assert settings.firm_name == "Acme & Partners"
    assert settings.introduction == "Dear clients,\nhere is the news."
    with pytest.raises(ValueError, match="disclaimer"):
        EmailSettings(smtp_host="localhost", sender="a@example.com", disclaimer="x" * 4001)
