"""The 2026-07-15 on-device notice end to end: its table (in the page, no attachment) first names
Apple's on-device model, and the channel post of that notice says so — in Chinese and English,
with the scenario — through discovery, the HTML parse, storage, the findings and Telegram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fake_telegram import FakeTelegram, validate_html

from bot.settings.config import settings_from_mapping
from test_totals import Row, Site, Step, _cli, _export, _filed, _settings_map, cac_totals, site  # noqa: F401 - the fixture
from webhook_receiver import Receiver

APPLE = "苹果技术开发（上海）有限公司"
APPLE_EN = "Apple Technology Development (Shanghai) Co., Ltd."


def _apple_row() -> Row:
    number = "Shanghai-AppleIntelligence-202607100001"
    return Row(number, ["上海市", "Apple Intelligence", APPLE, number, "2026/7/10", "苹果手机"], scenario="苹果手机")


def test_the_notice_that_first_lists_apples_on_device_model_names_apple(
    site: Site, database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    with FakeTelegram() as telegram:
        mapping: dict[str, Any] = _settings_map(site, database_url, tmp_path, receiver, notify={
            "telegram": {"token": telegram.token, "api_base_url": telegram.base_url, "channel": "@genai",
                         "chart": False, "interactive": False, "max_per_minute_per_chat": 6000},
        })
        settings = settings_from_mapping(mapping, env={})
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")

        first = Step("2606", "生成式人工智能服务已备案和已登记信息（2026年6月）", filed=[_filed("2026-06", n) for n in range(3)],
                     date="2026-07-10", as_of="2026-06-30")
        site.publish(first, cac_totals([first]))
        _cli(config, "check", "--once")  # the baseline
        phones = [_apple_row(), _filed("2026-07", 1, scenario="华为手机")]
        notice = Step("2607", on_device=phones, date="2026-07-15", notice=True)
        site.publish(notice, cac_totals([first, notice]))
        _cli(config, "check", "--once")

        posts = [validate_html(m.text or "") for m in telegram.messages("@genai", "sendMessage")]
        post = next(p for p in posts if "端侧" in p or "on-device" in p)
        assert "Apple" in post and "苹果" in post  # the foreign company, named
        assert "苹果手机" in post and "iPhone" in post  # and what its model runs on

    record = _export(config)["Shanghai-AppleIntelligence-202607100001"]
    assert record["entity"] == APPLE and record["registration"] == "filed" and record["scenario"] == "苹果手机"
    assert record["list_month"] == "2026-07"
    english = _cli(config, "export", "--kind", "genai_service", "--format", "csv")
    assert APPLE_EN in english
