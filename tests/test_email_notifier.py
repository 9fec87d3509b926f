"""EmailNotifier against a real SMTP server (aiosmtpd on 127.0.0.1): the digest arrives whole,
through the outbox; cadences batch several events into one mail; the baseline is one mail;
an idle poll sends nothing; unsubscribes are honoured; STARTTLS + AUTH and implicit TLS with
a certificate made in the test; SMTP failures map to retryable or permanent DeliveryErrors."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from bot.settings.config import EmailSettings, settings_from_mapping
from bot.delivery.email.notifier import EmailNotifier, delivery_error
from bot.delivery.email.subscribers import Subscriber, add_subscriber, unsubscribe
from bot.delivery.notifiers.base import DeliveryError
from bot.delivery.outbox import deliver_until_idle, enqueue
from sample_events import baseline_event, published_event
from service_helpers import free_port
from smtp_sink import Sink, smtp_server
from storage.db import Database
from storage.models_email import EmailSubscriber
from storage.models_outbox import Delivery

ADDRESS = "legal@lawfirm.example"


# --- a real SMTP server: the ``sink`` and ``smtp`` fixtures of conftest.py ----------------------------


def email_settings(port: int, **overrides: Any) -> EmailSettings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "sender": "watch@cacwatch.example",
        "recipients": [ADDRESS],
        "timeout": 5,
        "public_base_url": "https://cacwatch.example",
    }
    values.update(overrides)
    settings = settings_from_mapping({"notify": {"email": values}}, env={}).notify.email
    assert settings is not None
    return settings


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'cacwatch.db'}")
    db.migrate()
    yield db
    db.dispose()


def with_sizes(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["id"] = event_id
    event["data"]["sizes"] = [["2026-03", 400], ["2026-05", len(event["data"]["new"])]]
    return event


def queue(db: Database, notifier: EmailNotifier, *events: dict[str, Any]) -> None:
    for event in events:
        with db.session() as session:
            enqueue(session, event, [notifier])  # type: ignore[arg-type]


async def deliver(db: Database, notifier: EmailNotifier) -> Any:
    return await deliver_until_idle(db, {notifier.destination: notifier}, max_wait=15)


def make_due_now(db: Database) -> None:
    with db.session() as session:
        session.execute(update(Delivery).values(next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))


def due_times(db: Database) -> dict[str, datetime]:
    with db.session() as session:
        return {
            destination: (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
            for destination, moment in session.execute(select(Delivery.destination, Delivery.next_attempt_at))
        }


# --- end to end through the outbox ------------------------------------------------------------------


async def test_immediate_digest_arrives_complete(database: Database, smtp: int, sink: Sink) -> None:
    notifier = EmailNotifier(email_settings(smtp), database)
    queue(database, notifier, with_sizes(published_event(12), "evt_a"))
    run = await deliver(database, notifier)
    assert run.delivered == 1 and not run.errors
    assert len(sink.received) == 1
    rcpt, message = sink.received[0]
    assert rcpt == [ADDRESS]
    assert message["Subject"].startswith("CAC: 1 new list, 12 new filings —")
    types = [p.get_content_type() for p in message.walk()]
    assert types[:5] == ["multipart/mixed", "multipart/related", "multipart/alternative", "text/plain", "text/html"]
    assert "image/png" in types
    csv_part = next(p for p in message.iter_attachments() if p.get_filename().endswith(".csv"))
    data = csv_part.get_payload(decode=True)
    assert data.startswith(b"\xef\xbb\xbf")
    assert len(list(csv.reader(io.StringIO(data[3:].decode())))) == 13
    with database.session() as session:
        token = session.scalar(select(EmailSubscriber.token).where(EmailSubscriber.address == ADDRESS))
        assert token
    assert f"subject=unsubscribe-{token}" in message["List-Unsubscribe"]
    assert f"token={token}" in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # an idle poll afterwards sends nothing
    assert (await deliver(database, notifier)).delivered == 0
    assert len(sink.received) == 1


async def test_daily_digest_waits_and_batches_into_one_mail(sqlite_db: Database, smtp: int, sink: Sink) -> None:
    settings = email_settings(smtp, digest="daily", digest_at="08:00")
    notifier = EmailNotifier(settings, sqlite_db)
    queue(sqlite_db, notifier, with_sizes(published_event(3), "evt_one"))
    queue(sqlite_db, notifier, with_sizes(published_event(4, kind="genai_service"), "evt_two"))
    times = due_times(sqlite_db)
    assert set(times) == {f"email:{ADDRESS}"}
    expected = Subscriber(address=ADDRESS, cadence="daily", at="08:00").next_due(datetime.now(timezone.utc))
    assert abs(times[f"email:{ADDRESS}"] - expected) < timedelta(seconds=5)
    local = times[f"email:{ADDRESS}"].astimezone(dt.timezone(timedelta(hours=8)))
    assert (local.hour, local.minute) == (8, 0)
    assert (await deliver(sqlite_db, notifier)).delivered == 0  # not yet 08:00
    assert sink.received == []
    make_due_now(sqlite_db)
    run = await deliver(sqlite_db, notifier)
    assert run.delivered == 2 and len(sink.received) == 1  # two events, ONE mail
    assert sink.received[0][1]["Subject"].startswith("CAC: 2 new lists, 7 new filings —")


async def test_per_subscriber_cadence_and_filters(sqlite_db: Database, smtp: int, sink: Sink) -> None:
    settings = email_settings(
        smtp,
        subscribers=[
            {"address": "weekly@firm.example", "cadence": "weekly", "weekday": "friday", "at": "17:00",
             "timezone": "Europe/London"},
            {"address": "genai@firm.example", "kinds": ["genai_service"]},
        ],
    )
    notifier = EmailNotifier(settings, sqlite_db)
    with sqlite_db.session() as session:
        add_subscriber(session, Subscriber(address="watcher@firm.example", watchlist=("示例科技有限公司1",)))
        add_subscriber(session, Subscriber(address="baidu@firm.example", watchlist=("百度",)))
    queue(sqlite_db, notifier, with_sizes(published_event(3), "evt_ds"))
    times = due_times(sqlite_db)
    # genai@ wants another kind; baidu@ watches a company that is not in the list
    assert set(times) == {f"email:{ADDRESS}", "email:weekly@firm.example", "email:watcher@firm.example"}
    weekly = times["email:weekly@firm.example"]
    assert weekly.astimezone(dt.timezone.utc).weekday() == 4 and weekly.minute == 0
    assert weekly > datetime.now(timezone.utc)
    await deliver(sqlite_db, notifier)
    assert sorted(r[0] for r, _ in sink.received) == [ADDRESS, "watcher@firm.example"]
    watcher = next(m for r, m in sink.received if r == ["watcher@firm.example"])
    assert "WATCHED COMPANIES" in watcher.get_body(("plain",)).get_content().upper()


async def test_baseline_is_at_most_one_mail_each(sqlite_db: Database, smtp: int, sink: Sink) -> None:
    settings = email_settings(smtp, recipients=[ADDRESS, "second@firm.example"])
    notifier = EmailNotifier(settings, sqlite_db)
    queue(sqlite_db, notifier, baseline_event())
    await deliver(sqlite_db, notifier)
    assert sorted(r[0] for r, _ in sink.received) == [ADDRESS, "second@firm.example"]
    assert all(m["Subject"].startswith("CAC watch started") for _, m in sink.received)
    assert all(not list(m.iter_attachments()) for _, m in sink.received)
    await deliver(sqlite_db, notifier)
    assert len(sink.received) == 2


async def test_unsubscribe_is_honoured(sqlite_db: Database, smtp: int, sink: Sink) -> None:
    notifier = EmailNotifier(email_settings(smtp, digest="daily"), sqlite_db)
    queue(sqlite_db, notifier, with_sizes(published_event(2), "evt_before"))  # queued while subscribed
    with sqlite_db.session() as session:
        row = session.scalar(select(EmailSubscriber).where(EmailSubscriber.address == ADDRESS))
        token = row.token if row else None
    if token is None:  # the config recipient's row (and token) appears with its first mail: make it now
        from bot.delivery.email.subscribers import ensure_token, load_subscribers

        with sqlite_db.session() as session:
            token = ensure_token(session, load_subscribers(notifier.settings, session)[0]).token
    with sqlite_db.session() as session:
        assert unsubscribe(session, token) == ADDRESS
    queue(sqlite_db, notifier, with_sizes(published_event(2), "evt_after"))
    assert len(due_times(sqlite_db)) == 1  # no delivery for the event after unsubscribing
    make_due_now(sqlite_db)
    run = await deliver(sqlite_db, notifier)
    assert run.delivered == 1 and sink.received == []  # the queued one is dropped, not sent


async def test_heartbeat_after_a_quiet_week(sqlite_db: Database, smtp: int, sink: Sink) -> None:
    now = datetime(2026, 5, 11, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai
    notifier = EmailNotifier(email_settings(smtp, heartbeat=True, digest_weekday="monday"), sqlite_db)
    assert await notifier.send_heartbeats(now) == 1
    assert sink.received[0][1]["Subject"].startswith("CAC: no new filings this week — 2026-05-11")
    assert await notifier.send_heartbeats(now + timedelta(hours=1)) == 0  # once per week
    assert await notifier.send_heartbeats(now + timedelta(days=7)) == 1
    off = EmailNotifier(email_settings(smtp, heartbeat=False), sqlite_db)
    assert await off.send_heartbeats(now + timedelta(days=14)) == 0


async def test_without_database_one_recipient(smtp: int, sink: Sink) -> None:
    notifier = EmailNotifier(email_settings(smtp))
    await notifier.deliver_batch([(published_event(2), "msg_0123_1")])
    await notifier.deliver_to(published_event(1), delivery_id="msg_0123_2", destination=f"email:{ADDRESS}")
    assert len(sink.received) == 2
    with pytest.raises(DeliveryError) as err:
        await notifier.deliver_to(published_event(1), delivery_id="x", destination="email:not an address")
    assert not err.value.retryable


# --- failures -----------------------------------------------------------------------------------


async def test_unreachable_server_is_retryable() -> None:
    notifier = EmailNotifier(email_settings(free_port(), timeout=2))
    with pytest.raises(DeliveryError) as err:
        await notifier.deliver_to(published_event(1), delivery_id="msg_x_1", destination=f"email:{ADDRESS}")
    assert err.value.retryable and "SMTP" in err.value.reason


@pytest.mark.parametrize(
    ("reply", "retryable"), [("550 5.1.1 No such user", False), ("451 4.7.1 Greylisted, try later", True)]
)
async def test_refused_recipient(smtp: int, sink: Sink, reply: str, retryable: bool) -> None:
    sink.refuse[ADDRESS] = reply
    notifier = EmailNotifier(email_settings(smtp))
    with pytest.raises(DeliveryError) as err:
        await notifier.deliver_to(published_event(1), delivery_id="msg_x_1", destination=f"email:{ADDRESS}")
    assert err.value.retryable is retryable
    assert reply.split()[0] in err.value.reason


def test_error_mapping() -> None:
    import aiosmtplib

    assert not delivery_error(aiosmtplib.SMTPDataError(554, "5.7.1 rejected as spam")).retryable
    assert delivery_error(aiosmtplib.SMTPDataError(452, "4.3.1 insufficient storage")).retryable
    assert delivery_error(aiosmtplib.SMTPAuthenticationError(535, "bad credentials")).retryable
    assert delivery_error(aiosmtplib.SMTPServerDisconnected("gone")).retryable
    assert delivery_error(TimeoutError()).retryable
    assert delivery_error(aiosmtplib.SMTPNotSupported("STARTTLS extension not supported")).retryable


# --- TLS and authentication ----------------------------------------------------------------------


@dataclass
class Certs:
    ca_file: str
    server: ssl.SSLContext


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A throw-away CA and a server certificate for 127.0.0.1 (EC keys: fast to make)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cacwatch test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("certs")
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(folder / "server.pem"), str(folder / "server.key"))
    return Certs(ca_file=str(folder / "ca.pem"), server=context)


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"cacwatch" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_smtp(sink: Sink, certs: Certs) -> Iterator[int]:
    options = {"tls_context": certs.server, "require_starttls": True, "authenticator": authenticator, "auth_required": True}
    with smtp_server(sink, **options) as port:
        yield port


async def test_starttls_with_authentication(starttls_smtp: int, sink: Sink, certs: Certs) -> None:
    settings = email_settings(starttls_smtp, security="starttls", username="cacwatch", password="s3cret",
                              ca_file=certs.ca_file)
    await EmailNotifier(settings).deliver_to(published_event(2), delivery_id="msg_x_1", destination=f"email:{ADDRESS}")
    assert len(sink.received) == 1
    # a wrong password stays queued (fixing the configuration lets the digest go out)
    wrong = email_settings(starttls_smtp, security="starttls", username="cacwatch", password="nope", ca_file=certs.ca_file)
    with pytest.raises(DeliveryError) as err:
        await EmailNotifier(wrong).deliver_to(published_event(2), delivery_id="msg_x_2", destination=f"email:{ADDRESS}")
    assert err.value.retryable and "authentication" in err.value.reason and "nope" not in err.value.reason
    # an untrusted certificate is refused, never ignored
    untrusted = email_settings(starttls_smtp, security="starttls", username="cacwatch", password="s3cret")
    with pytest.raises(DeliveryError):
        await EmailNotifier(untrusted).deliver_to(published_event(2), delivery_id="msg_x_3", destination=f"email:{ADDRESS}")
    assert len(sink.received) == 1


async def test_plain_connection_to_a_starttls_only_server_is_refused(starttls_smtp: int, sink: Sink) -> None:
    settings = email_settings(starttls_smtp, security="none", username="cacwatch", password="s3cret")
    with pytest.raises(DeliveryError):
        await EmailNotifier(settings).deliver_to(published_event(1), delivery_id="msg_x_1", destination=f"email:{ADDRESS}")
    assert sink.received == []


async def test_implicit_tls(sink: Sink, certs: Certs) -> None:
    with smtp_server(sink, ssl_context=certs.server) as port:
        settings = email_settings(port, security="ssl", ca_file=certs.ca_file)
        await EmailNotifier(settings).deliver_to(published_event(1), delivery_id="msg_x_1", destination=f"email:{ADDRESS}")
    assert len(sink.received) == 1


# --- the whole service: `cacwatch check --once` on the replica ---------------------------------------


DS_2023_08_PAGE = "/2023-09/01/c_1695224377544009.htm"  # the announcement of the 2nd deep-synthesis batch
CHANNEL_PAGE = "/wxzw/wxfb/A093702index_1.htm"
NOTICE_API = "/api/notice/list"


def hide_announcement(replica: Any, page: str) -> Any:
    """Unlink an announcement from the channel page and the notice API (as before CAC posts it);
    returns a function that publishes it again."""
    import json
    import re

    channel, notices = replica.read(CHANNEL_PAGE), replica.read(NOTICE_API)
    html = re.sub(rf'<li>(?:(?!</li>).)*{re.escape(page)}.*?</li>', "", channel.decode("utf-8"), flags=re.S)
    assert page not in html
    replica.replace_file(CHANNEL_PAGE, html.encode("utf-8"))
    body = json.loads(notices)
    body["datas"] = [d for d in body["datas"] if page not in json.dumps(d)]
    replica.replace_file(NOTICE_API, json.dumps(body, ensure_ascii=False).encode("utf-8"))

    def restore() -> None:
        replica.replace_file(CHANNEL_PAGE, channel)
        replica.replace_file(NOTICE_API, notices)

    return restore


def test_check_once_mails_one_baseline_then_the_new_list_then_nothing(
    tmp_path: Path, replica: Any, make_settings: Any, smtp: int, sink: Sink
) -> None:
    import yaml
    from typer.testing import CliRunner

    from bot.app.cli import app

    email = {"smtp_host": "127.0.0.1", "smtp_port": smtp, "security": "none", "sender": "watch@cacwatch.example",
             "recipients": [ADDRESS], "digest": "immediate", "timeout": 5}
    settings = make_settings(replica, f"sqlite:///{tmp_path / 'cacwatch.db'}", email=email)
    settings = settings.model_copy(update={"parse_workers": 0})  # parse in-process: no pool to start
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    runner = CliRunner()

    def check() -> None:
        result = runner.invoke(app, ["--config", str(config), "check", "--once"])
        assert result.exit_code == 0, result.output

    restore = hide_announcement(replica, DS_2023_08_PAGE)  # the 2023-08 batch is not out yet
    check()
    assert len(sink.received) == 1  # the first poll: at most one mail, the short baseline
    assert sink.received[0][1]["Subject"].startswith("CAC watch started: 8 lists")

    restore()  # … now it is published
    check()
    assert len(sink.received) == 2
    rcpt, message = sink.received[1]
    assert rcpt == [ADDRESS]
    # One of the 110 is listed already cancelled: the subject counts it as the findings do (注销 1 项).
    assert message["Subject"].startswith("CAC: 1 new list, 110 new filings, 1 cancellation —")
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert message["List-Unsubscribe"].startswith("<mailto:watch@cacwatch.example?subject=unsubscribe-")
    csv_part = next(p for p in message.iter_attachments() if p.get_filename().endswith(".csv"))
    rows = list(csv.reader(io.StringIO(csv_part.get_payload(decode=True)[3:].decode())))
    assert len(rows) - 1 == 110
    assert "image/png" in [p.get_content_type() for p in message.walk()]  # sizes from the event

    check()  # idle poll
    assert len(sink.received) == 2
