"""The one table of values in English (bot.changes.vocabulary): every renderer reads it."""

from __future__ import annotations

from bot.changes.companies import GLOSSARY, translate_term
from bot.changes.genai import REGISTRATION_LABELS as GENAI_REGISTRATIONS
from bot.changes.vocabulary import (
    CATEGORY_LABELS,
    ROLE_LABELS,
    english_labels,
    list_name_en,
    month_label,
    registration_type,
    value_label,
)


def test_values_in_english_and_unknown_values_as_written() -> None:
    assert value_label("role", "provider") == ("服务提供者", "service provider")
    assert value_label("category", "生成合成类") == ("生成合成类", "generation & synthesis")
    assert value_label("category", "生成合成") == ("生成合成类", "generation & synthesis")  # without 类
    assert value_label("category", "新类别") == ("新类别", "新类别")  # never dropped
    assert value_label("status", "cancelled") == ("已注销", "cancelled")
    assert value_label("role", None) == ("", "")


def test_registration_types_include_on_device() -> None:
    assert registration_type("registered", "手机") == "registered"
    assert registration_type("filed", " 苹果手机 ") == "on_device"
    assert registration_type("filed", "") == "filed"
    assert registration_type(None, None) is None
    labels = english_labels({"role": None, "category": None, "registration": "filed", "scenario": "车机"})
    assert labels == {"role_en": "", "category_en": "", "registration_en": "on-device"}
    # The filter choices stay the stored values (on-device is filed with a 适用场景).
    assert list(GENAI_REGISTRATIONS) == ["filed", "registered"]


def test_the_glossary_reads_the_same_table() -> None:
    for key, (zh, en) in ROLE_LABELS.items():
        assert GLOSSARY[key] == GLOSSARY[zh] == en
    for zh, (_, en) in CATEGORY_LABELS.items():
        assert translate_term(zh) == en


def test_list_names_in_english() -> None:
    assert month_label("2024-04") == ("2024年4月", "April 2024")
    assert month_label("2024-13") == ("2024-13", "2024-13")
    assert list_name_en("deep_synthesis", "2024-01") == "Deep synthesis algorithms: filing list, January 2024"
    assert list_name_en("genai_service", "2025-01", cancellation=True) == "Generative-AI services: cancellations, January 2025"
