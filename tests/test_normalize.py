"""Unit and property tests of scrapers.normalize."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapers.normalize import (
    PLACEHOLDERS,
    PROVINCES,
    clean_text,
    date_note,
    is_registered_genai_number,
    is_valid_genai_number,
    list_month_from_name,
    normalize_filing_number,
    parse_filed_on,
    province_from_number,
    province_from_pinyin,
    role_from_text,
    split_products,
    status_from_remark,
    text_key,
)

# --- clean_text -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  北京大麦文化传媒发展有限公司 ", "北京大麦文化传媒发展有限公司"),
        ("杭州深度求索人工智能基础技术研究有\n限公司", "杭州深度求索人工智能基础技术研究有限公司"),
        ("Kimi 智能助手", "Kimi 智能助手"),
        ("WPS AI（APP）", "WPS AI（APP）"),  # characters kept as published
        ("芒果TV （网站、APP）", "芒果TV （网站、APP）"),
        ("变更主要用途 为", "变更主要用途 为"),  # a genuine (if odd) space stays
        ("Hi\nEcho", "Hi Echo"),  # two paragraphs of Latin words
        ("a \t\u3000 b", "a b"),
        ("零\u200b宽", "零宽"),
        (None, ""),
        (1.0, "1"),
        ("", ""),
    ],
)
def test_clean_text(raw: object, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_nfkc_option() -> None:
    assert clean_text("大麦（APP），１２", nfkc=True) == "大麦(APP),12"


def test_text_key_ignores_width_and_space_next_to_cjk() -> None:
    assert text_key("芒果TV （网站、APP）") == text_key("芒果TV (网站、APP)")
    assert text_key("研究有 限公司，") == text_key("研究有限公司,")
    assert text_key("Kimi 智能助手") == text_key("Kimi智能助手")
    assert text_key("Hi Echo") != text_key("HiEcho")


@given(st.text())
def test_clean_text_idempotent(s: str) -> None:
    once = clean_text(s)
    assert clean_text(once) == once
    assert once == once.strip()
    assert "\n" not in once and "  " not in once


@given(st.text())
def test_clean_text_nfkc_idempotent(s: str) -> None:
    once = clean_text(s, nfkc=True)
    assert clean_text(once, nfkc=True) == once


# --- filing numbers -----------------------------------------------------------


def test_normalize_filing_number_valid() -> None:
    assert normalize_filing_number("网信算备 110101128387701230011 号") == ("网信算备110101128387701230011号", ())
    assert normalize_filing_number("网信算备１１０１０１１２８３８７７０１２３００１１号")[1] == ()


def test_normalize_filing_number_22_digits_kept_and_flagged() -> None:
    number, flags = normalize_filing_number("网信算备1101082242366066220017号")
    assert number == "网信算备1101082242366066220017号"
    assert "malformed_number" in flags


@pytest.mark.parametrize(
    "number",
    [
        "Beijing-WenXinYiYan-20230821",
        "Shanghai-AISHANGHAI-20260828S0212",
        "zhejiang-DeepSeek23-20241220S8084",
        "Hubei-AI-20240524",
        "Jiangsu-ZhiBiaoBao-202512030061",  # date + 4-digit sequence: nearly every filed row since 2024-08
        "Guangdong-Dr.GDCDC-20260706S0054",  # registered (登记): S + 4 digits, a dot in the name
        "ZheJiang-DeepSeek-202412180001",  # mixed pinyin case
        "ZhongYangQiYe-JiuTianDuoMotai-202410210005",  # 属地 国资委: central SOEs
        "Tianjin-360ZhiNaoDaMoXing-20230831",
        "Shanghai-Abab6.5-20240402",
    ],
)
def test_genai_numbers_valid(number: str) -> None:
    assert normalize_filing_number(f" {number}\n") == (number, ())
    assert is_valid_genai_number(number)


@pytest.mark.parametrize(
    ("number", "registered"),
    [
        ("Guangdong-Dr.GDCDC-20260706S0054", True),
        ("Shanghai-AISHANGHAI-20260828s0212", True),
        ("Jiangsu-ZhiBiaoBao-202512030061", False),
        ("Beijing-WenXinYiYan-20230821", False),
        ("Beijing-X-20231341S0001", False),  # not a valid number at all
    ],
)
def test_registered_number_form(number: str, registered: bool) -> None:
    assert is_registered_genai_number(number) is registered


@pytest.mark.parametrize(
    "number",
    [
        "Beijing-20230821",
        "网信算备12345号",
        "abc",
        "Beijing-WenXin-20231341",  # no 13th month
        "Beijing-WenXin-19990821",  # before any GenAI filing
        "Beijing-WenXin-2023082",  # 7 digits
        "Beijing-WenXin-20230821001",  # a 3-digit sequence
        "Beijing-WenXin-20230821S001",
        "Jiangsu-ZhiBiaoBao\x02202512030061",  # a hyphen lost to an extraction mark: not silently valid
    ],
)
def test_bad_numbers_flagged(number: str) -> None:
    assert "malformed_number" in normalize_filing_number(number)[1]


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\uff0d", "\ufe63"])
def test_number_printed_with_another_dash(dash: str) -> None:
    assert normalize_filing_number(f"Jiangsu{dash}ZhiBiaoBao{dash}202512030061") == ("Jiangsu-ZhiBiaoBao-202512030061", ())


# Every control (Cc) and format (Cf) character but layout whitespace.
_CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)) if not chr(c).isspace()] + [
    "\u00ad", "\u061c", "\u180e", "\u200b", "\u200e", "\u2060", "\u2064", "\u206f", "\ufeff", "\ufffb", "\U000e0001",
]  # fmt: skip


@pytest.mark.parametrize("control", _CONTROLS)
def test_no_control_character_survives(control: str) -> None:
    assert clean_text(f"北京{control}某某科技") == "北京某某科技"
    assert clean_text(f"Kimi{control} 助手", nfkc=True) == "Kimi 助手"
    assert split_products(f"大麦{control}(APP)、优酷(APP)") == ["大麦(APP)", "优酷(APP)"]
    assert text_key(f"Deep{control}Seek") == "DeepSeek"


@given(st.text())
def test_clean_text_never_returns_a_control_or_format_character(s: str) -> None:
    import unicodedata

    for text in (clean_text(s), clean_text(s, nfkc=True), normalize_filing_number(s)[0], *split_products(s)):
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text), repr(text)


def test_openpyxl_accepts_whatever_clean_text_returns() -> None:
    from openpyxl import Workbook

    sheet = Workbook().active
    assert sheet is not None
    sheet["A1"] = clean_text("".join(map(chr, range(0x20))) + "Jiangsu-ZhiBiaoBao\x02")  # IllegalCharacterError if any is left


@pytest.mark.parametrize(
    ("cell", "note", "iso"),
    [
        ("2025/6/30（补登）", "补登", "2025-06-30"),
        ("2025/6/30 (补登)", "补登", "2025-06-30"),
        ("2025年6月30日", "", "2025-06-30"),
        ("2025/6/30", "", "2025-06-30"),
        (dt.date(2025, 6, 30), "", "2025-06-30"),
        (None, "", None),
    ],
)
def test_date_note(cell: object, note: str, iso: str | None) -> None:
    assert date_note(cell) == note
    assert parse_filed_on(cell) == iso


@given(st.text())
def test_normalize_filing_number_idempotent(s: str) -> None:
    number, _ = normalize_filing_number(s)
    again, _ = normalize_filing_number(number)
    assert again == number
    assert not any(ch.isspace() for ch in number)


# --- products -----------------------------------------------------------------


def test_split_products_examples() -> None:
    assert split_products("风行视频（APP、网站、小程序）、风行电视应用（APP）") == [
        "风行视频(APP、网站、小程序)",
        "风行电视应用(APP)",
    ]
    assert split_products("大麦（APP）") == ["大麦(APP)"]
    assert split_products("--") == []
    assert split_products("—") == []
    assert split_products("无") == []
    assert split_products("") == []
    assert split_products(None) == []
    assert split_products("快手(APP)、streamlake (APP)") == ["快手(APP)", "streamlake (APP)"]
    assert split_products("有道子曰大模型（网站）、Hi Echo（网站）等") == ["有道子曰大模型(网站)", "Hi Echo(网站)等"]
    assert split_products("有道智云-文档翻译（开发版）(网站)、有道翻译(网站)") == [
        "有道智云-文档翻译(开发版)(网站)",
        "有道翻译(网站)",
    ]


def test_split_products_line_breaks() -> None:
    # A wrapped paragraph after 、 joins; one product per paragraph splits.
    assert split_products("Choice数据(APP)、东方财富(APP)、\n妙想(APP)") == ["Choice数据(APP)", "东方财富(APP)", "妙想(APP)"]
    assert split_products("快手(APP)\n快影(APP)") == ["快手(APP)", "快影(APP)"]
    assert split_products("有道智云-文档翻译(开发版)\n(网站)") == ["有道智云-文档翻译(开发版)(网站)"]
    assert split_products("一帧秒创\n(网站)") == ["一帧秒创(网站)"]


_NAME = st.text(alphabet="风行视频电视应用大麦AppWeb小程序网站 -+", min_size=1, max_size=8).map(str.strip).filter(bool)
_BRACKETED = st.lists(st.sampled_from(["APP", "网站", "小程序", "其他"]), min_size=1, max_size=3).map("、".join)
_PRODUCT = st.tuples(_NAME, _BRACKETED, st.booleans()).map(
    lambda t: f"{t[0]}（{t[1]}）" if t[2] else f"{t[0]}({t[1]})"
)


@given(st.lists(_PRODUCT, max_size=6))
def test_split_products_never_splits_inside_brackets(products: list[str]) -> None:
    parts = split_products("、".join(products))
    assert parts == [clean_text(p, nfkc=True) for p in products]
    for part in parts:
        assert part.count("(") == part.count(")")


@given(st.lists(st.one_of(_PRODUCT, st.sampled_from(sorted(PLACEHOLDERS - {""}))), max_size=6))
def test_split_products_roundtrip_modulo_placeholders(items: list[str]) -> None:
    parts = split_products("、".join(items))
    kept = [clean_text(i, nfkc=True) for i in items if i not in PLACEHOLDERS]
    assert "、".join(parts) == "、".join(kept)


# --- provinces ------------------------------------------------------------------

_ALL_PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}  # fmt: skip


@pytest.mark.parametrize(("code", "province"), sorted(_ALL_PROVINCES.items()))
def test_province_from_number_every_code(code: str, province: str) -> None:
    assert PROVINCES[code] == province
    assert province_from_number(f"网信算备{code}0101128387701230011号") == province


def test_province_edge_cases() -> None:
    assert province_from_number("网信算备1101082242366066220017号") == "北京市"  # 22 digits
    assert province_from_number("网信算备990101128387701230011号") is None
    assert province_from_number("") is None
    assert province_from_number("Beijing-WenXinYiYan-20230821") is None
    assert province_from_pinyin("Beijing-WenXinYiYan-20230821") == "北京市"
    assert province_from_pinyin("shanghai-AISHANGHAI-20260828S0212") == "上海市"


# --- status, role ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("remark", "status"),
    [
        ("已注销", "cancelled"),
        (" 已 注销 ", "cancelled"),
        ("2024年5月已注销", "cancelled"),
        ("注销", "cancelled"),
        ("", "active"),
        (None, "active"),
        ("原主体名称“北京甲公司”变更为“北京乙公司”", "active"),
        ("变更内容：产品变更", "active"),
        ("2024年8月，新增关联产品：某某（APP）", "active"),
        ("未注销", "active"),
        ("注销后重新备案", "active"),
    ],
)
def test_status_from_remark(remark: object, status: str) -> None:
    assert status_from_remark(remark) == status


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("服务提供者", "provider"),
        (" 服务 提供者\n", "provider"),
        ("服务技术支持者", "technical_supporter"),
        ("技术支持者", "technical_supporter"),
        ("服务技术\n支持者", "technical_supporter"),
        ("", None),
        ("其他", None),
    ],
)
def test_role_from_text(text: str, role: str | None) -> None:
    assert role_from_text(text) == role


# --- dates, list months -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2024/3/27", "2024-03-27"),
        ("2024-03-27", "2024-03-27"),
        ("2024年3月27日", "2024-03-27"),
        ("20240327", "2024-03-27"),
        ("2024.3.27", "2024-03-27"),
        ("2024-03-27 00:00:00", "2024-03-27"),
        ("２０２４/３/２７", "2024-03-27"),
        (45378, "2024-03-27"),
        (45378.0, "2024-03-27"),
        ("45378", "2024-03-27"),
        (dt.date(2024, 3, 27), "2024-03-27"),
        (dt.datetime(2024, 3, 27, 10, 5), "2024-03-27"),
        ("", None),
        (None, None),
        ("待定", None),
        ("2024/2/30", None),
    ],
)
def test_parse_filed_on(value: object, iso: str | None) -> None:
    assert parse_filed_on(value) == iso


@pytest.mark.parametrize(
    ("name", "month"),
    [
        ("境内深度合成服务算法备案清单（2024年4月）", "2024-04"),
        ("境内深度合成服务算法备案清单(2024年04月)", "2024-04"),
        ("境内深度合成服务算法备案清单 （ 2024 年 4 月 ）", "2024-04"),
        ("生成式人工智能服务已备案信息（2025年1月）", "2025-01"),
        ("境内互联网信息服务算法备案清单（2022年10月）", "2022-10"),
        ("附件2：2023年发布的境内互联网信息服务算法备案清单（2024年1月）", "2024-01"),
        ("境内深度合成服务算法备案清单", None),
        ("", None),
        (None, None),
    ],
)
def test_list_month_from_name(name: object, month: str | None) -> None:
    assert list_month_from_name(name) == month


@settings(max_examples=50)
@given(st.integers(2000, 2099), st.integers(1, 12))
def test_list_month_roundtrip(year: int, month: int) -> None:
    assert list_month_from_name(f"清单（{year}年{month}月）") == f"{year:04d}-{month:02d}"
