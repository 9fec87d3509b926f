"""AppriseNotifier through a real Apprise json:// URL against a local receiver."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.settings.config import AppriseSettings, settings_from_mapping
from bot.delivery.notifiers.apprise import AppriseNotifier
from bot.delivery.notifiers.base import NOTIFIER_KINDS, DeliveryError
from bot.delivery.notifiers.text import plain_summary

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from sample_events import baseline_event, published_event
    from webhook_receiver import Answer, Receiver
except ImportError:  # pragma: no cover
    from tests.sample_events import baseline_event, published_event
    from tests.webhook_receiver import Answer, Receiver


def notifier(urls: list[str], **overrides: Any) -> AppriseNotifier:
    values: dict[str, Any] = {"urls": urls, "allow_private": True, "timeout": 5}
    values.update(overrides)
    return AppriseNotifier(AppriseSettings(**values))


def test_registered_and_configurable() -> None:
    assert NOTIFIER_KINDS["apprise"] is AppriseNotifier
    settings = settings_from_mapping({"notify": {"apprise": [{"urls": ["dingtalk://token/"], "kinds": ["genai_service"]}]}})
    assert settings.notify.apprise[0].kinds == ["genai_service"]


async def test_summary_reaches_a_json_receiver(receiver: Receiver) -> None:
    event = published_event(3, watchlist=True)
    target = notifier([f"json://127.0.0.1:{receiver.port}/apprise"])
    (destination,) = target.destinations
    await target.deliver_to(event, delivery_id="m", destination=destination)
    (got,) = receiver.on("/apprise")
    payload = json.loads(got.body)
    assert payload["message"] == plain_summary(event)
    assert payload["title"].startswith("cacwatch: 新名单")
    assert "Watchlist hit" in payload["message"]


async def test_each_url_is_its_own_destination(receiver: Receiver) -> None:
    target = notifier([f"json://127.0.0.1:{receiver.port}/a", f"json://127.0.0.1:{receiver.port}/b?token=s3cret"])
    first, second = target.destinations
    assert target.fan_out(baseline_event(), session=None) == [first, second]  # type: ignore[arg-type]
    assert all("s3cret" not in d and "127.0.0.1" not in d for d in (first, second, target.destination))
    await target.deliver_to(baseline_event(), delivery_id="m", destination=second)
    assert receiver.on("/a") == [] and len(receiver.on("/b")) == 1
    assert "Baseline established" in json.loads(receiver.on("/b")[0].body)["message"]


async def test_failure_is_retryable(receiver: Receiver) -> None:
    receiver.answers["/down"] = Answer(500)
    target = notifier([f"json://127.0.0.1:{receiver.port}/down?token=s3cret"])
    with pytest.raises(DeliveryError) as caught:
        await target.deliver(published_event(1), delivery_id="m")
    assert caught.value.retryable and "s3cret" not in caught.value.reason
    assert len(receiver.on("/down")) >= 1


async def test_private_targets_refused_unless_allowed(receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="loopback"):
        notifier([f"json://127.0.0.1:{receiver.port}/x"], allow_private=False)  # literal: at build time
    by_name = notifier([f"json://localhost:{receiver.port}/x"], allow_private=False)
    assert by_name.problems() and "loopback" in by_name.problems()[0]
    with pytest.raises(DeliveryError) as caught:  # a name: refused at send time
        await by_name.deliver(published_event(1), delivery_id="m")
    assert not caught.value.retryable and "loopback" in caught.value.reason
    assert receiver.on("/x") == []


def test_filters() -> None:
    target = notifier(["json://93.184.216.34/x"], kinds=["genai_service"], events=["list.published"], watchlist_only=True)
    assert target.accepts(published_event(1, kind="genai_service", watchlist=True))
    assert not target.accepts(published_event(1, kind="genai_service"))
    assert not target.accepts(published_event(1, watchlist=True))  # deep synthesis
    assert not target.accepts(baseline_event())  # wrong event type


def test_bad_urls() -> None:
    with pytest.raises(ValueError, match="not a usable Apprise URL"):
        notifier(["nosuchservice://whatever/"])


# Every Apprise scheme that connects to a host named in its URL, aimed at loopback and at
# the cloud metadata service: refused at build time with allow_private false.
_HOSTED = [
    "ntfy://{h}/topic",
    "gotify://{h}/token",
    "apprise://{h}/token",
    "mmost://{h}/token",
    "rocket://user:pw@{h}/room",
    "matrix://user:pw@{h}/#room",
    "hassio://{h}/longlivedtoken",
    "ncloud://user:pw@{h}/admin",
    "bark://{h}/device",
    "signal://{h}:8080/+12223334444/+12223334445",
    "kodi://{h}",
    "rsyslog://{h}",
    "json://{h}/x",
    "mailtos://user:pass@example.com?smtp={h}",
]


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "[::ffff:127.0.0.1]"])
@pytest.mark.parametrize("template", _HOSTED)
def test_every_scheme_aimed_at_a_private_host_is_refused(template: str, host: str) -> None:
    url = template.format(h=host)
    # "[::ffff:127.0.0.1]:8080" is misread by Apprise as one host: refused as malformed.
    with pytest.raises(ValueError, match="loopback|link-local|malformed host") as caught:
        notifier([url], allow_private=False)
    assert "pw@" not in str(caught.value) and "token" not in str(caught.value)  # names the scheme only
    notifier([url], allow_private=True)  # the operator may vouch for it


async def test_hosts_named_by_name_are_checked_before_sending(receiver: Receiver) -> None:
    # localhost resolves to loopback: refused at send time, nothing reaches the listener.
    for url in (f"ntfy://localhost:{receiver.port}/alerts", f"gotify://localhost:{receiver.port}/token"):
        target = notifier([url], allow_private=False)
        assert "loopback" in target.problems()[0]
        with pytest.raises(DeliveryError) as caught:
            await target.deliver(published_event(1), delivery_id="m")
        assert not caught.value.retryable and "loopback" in caught.value.reason
    assert receiver.received == []


def test_fixed_services_pass_and_unknown_targets_need_allow_private() -> None:
    fixed = notifier(["dingtalk://token/", "ntfy://topic", "tgram://123456789:abcdefg/12345"], allow_private=False)
    assert len(fixed.destinations) == 3 and fixed.problems() == []
    # pushme:// names no host Apprise lets us read: it cannot be checked, so it is refused …
    with pytest.raises(ValueError, match="cannot tell which host"):
        notifier(["pushme://token"], allow_private=False)
    notifier(["pushme://token"], allow_private=True)  # … unless the operator allows it


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    # A 307 keeps the POST: before, Apprise re-sent the body to the other host unchecked.
    elsewhere = f"http://localhost:{receiver.port}/landed"
    receiver.answers["/hop"] = Answer(307, headers={"Location": elsewhere})
    for url in (f"json://127.0.0.1:{receiver.port}/hop", f"json://127.0.0.1:{receiver.port}/hop?redirect=yes"):
        target = notifier([url])
        with pytest.raises(DeliveryError) as caught:
            await target.deliver(published_event(1), delivery_id="m")
        assert caught.value.retryable
    assert len(receiver.on("/hop")) == 2 and receiver.on("/landed") == []
