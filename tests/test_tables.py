"""Header mapping and row assembly (scrapers.tables), format-independent."""

from __future__ import annotations

import pytest

from scrapers.records import Kind, ParseError, Status
from scrapers.tables import canonical_column, map_header, rows_to_filings

DEEP = ["序号", "算法名称", "角色", "主体名称", "应用产品", "主要用途", "备案编号", "备注"]
N1 = "网信算备110101128387701230011号"
N2 = "网信算备440305800709501230015号"
N3 = "网信算备330110046572901220019号"


def deep_row(seq: str, number: str, name: str = "算法", remark: str = "") -> list[str]:
    return [seq, name, "服务提供者", "北京某公司", "某产品（APP）", "用途", number, remark]


@pytest.mark.parametrize(
    ("header", "canon"),
    [
        ("序号", "seq"),
        ("算法名称", "name"),
        ("模型名称", "name"),
        ("大模型名称", "name"),
        ("服务名称", "name"),
        ("角 色", "role"),
        ("算法类别", "category"),
        ("主体名称", "entity"),
        ("备案单位", "entity"),
        ("企业名称", "entity"),
        ("应用产品", "products"),
        ("关联产品", "products"),
        ("主要用途", "purpose"),
        ("备案编号", "number"),
        ("备案号", "number"),
        ("备\n注", "remark"),
        ("属地", "province"),
        ("所在地", "province"),
        ("备案时间", "filed_on"),
        ("备案日期", "filed_on"),
        ("注销时间", "cancelled_on"),
        ("备案编号（注）", "number"),
        ("应用/功能名称", "name"),
        ("应用/功能\n名称", "name"),  # wrapped in a narrow PDF header cell
        ("登记单位", "entity"),
        ("上线编号", "number"),
        ("上线编\n号", "number"),
        ("登记时间", "filed_on"),
        ("适用场景", "scenario"),
        ("原主体名称“北京甲公司”变更为“北京乙公司”", None),  # a remark, not a header
        ("网信算备110101128387701230011号", None),
        ("", None),
    ],
)
def test_canonical_column(header: str, canon: str | None) -> None:
    assert canonical_column(header) == canon


def test_data_row_is_not_a_header() -> None:
    assert map_header(deep_row("1", N1, remark="原主体名称“甲”变更为“乙”")) is None


def test_deep_synthesis_basic() -> None:
    rows, warnings = rows_to_filings([DEEP, deep_row("1", N1), deep_row("2", N2)], Kind.DEEP_SYNTHESIS, False)
    assert warnings == []
    assert [r.filing_number for r in rows] == [N1, N2]
    first = rows[0]
    assert first.role == "provider" and first.category is None
    assert first.products == ("某产品(APP)",)
    assert first.province == "北京市" and rows[1].province == "广东省"
    assert first.remark == "" and first.status is Status.ACTIVE and first.filed_on is None
    assert [r.row_index for r in rows] == [0, 1]


def test_columns_in_another_order_and_synonyms() -> None:
    header = ["备案号", "备注", "企业名称", "算法类别", "算法名称", "关联产品", "用途", "序号"]
    row = [N3, "已注销", "杭州某公司", "个性化推送类", "推荐算法", "甲（APP、网站）、乙(小程序)", "推荐", ""]
    rows, _ = rows_to_filings([header, row], Kind.ALGORITHM_RECOMMENDATION, False)
    (r,) = rows
    assert (r.name, r.entity, r.category, r.purpose) == ("推荐算法", "杭州某公司", "个性化推送类", "推荐")
    assert r.products == ("甲(APP、网站)", "乙(小程序)")
    assert r.role is None and r.status is Status.CANCELLED and r.province == "浙江省"


def test_nine_cell_header_with_purpose_twice() -> None:
    header = ["序号", "算法名称", "角色", "主体名称", "应用产品", "主要用途", "主要用途", "备案编号", "备注"]
    merged = ["1", "算法", "服务技术支持者", "公司", "--", "应用于对话", "应用于对话", N1, ""]
    split = ["2", "算法2", "服务提供者", "公司", "x(APP)", "应用于绘画", "", N2, ""]
    other_half = ["3", "算法3", "服务提供者", "公司", "x(APP)", "", "应用于视频", N3, ""]
    rows, _ = rows_to_filings([header, merged, split, other_half], Kind.DEEP_SYNTHESIS, False)
    assert [r.purpose for r in rows] == ["应用于对话", "应用于绘画", "应用于视频"]
    assert rows[0].role == "technical_supporter" and rows[0].products == ()
    assert [r.filing_number for r in rows] == [N1, N2, N3]


def test_header_below_title_rows_and_empty_seq() -> None:
    table = [
        ["境内深度合成服务算法备案清单（2024年4月）"] * 8,  # merged title row
        [""] * 8,
        DEEP,
        deep_row("", N1),
        deep_row("", N2),
    ]
    rows, _ = rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)
    assert [r.filing_number for r in rows] == [N1, N2]


def test_printed_seq_is_kept_as_provenance_not_as_a_field() -> None:
    """序号 as printed (a list may run on from the previous one: 989 …), None where the cell is
    empty (Word auto-numbering); never part of the export record's fields."""
    table = [DEEP, deep_row("989", N1), deep_row(" 990 ", N2), deep_row("", N3)]
    rows, _ = rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)
    assert [(r.row_index, r.seq) for r in rows] == [(0, "989"), (1, "990"), (2, None)]
    assert "seq" not in rows[0].fields()
    # A wrapped tail (no 序号 of its own) merged into its row keeps the row's 序号.
    genai = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
    wrapped = [
        genai,
        ["55", "浙江省", "DeepSeek", "杭州深度求索人工智能基础技术研究有", "Zhejiang-DeepSeek-20241218", "2024/12/18"],
        ["", "", "", "限公司", "", ""],
    ]
    [row], _ = rows_to_filings(wrapped, Kind.GENAI_SERVICE, False)
    assert (row.row_index, row.seq) == (0, "55")


def test_blank_and_repeated_header_rows_skipped() -> None:
    table = [DEEP, deep_row("1", N1), [""] * 8, DEEP, deep_row("2", N2)]
    rows, warnings = rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)
    assert [r.filing_number for r in rows] == [N1, N2] and warnings == []


def test_repeated_header_may_reorder_columns() -> None:
    reordered = ["备案编号", "序号", "算法名称", "角色", "主体名称", "应用产品", "主要用途", "备注"]
    table = [DEEP, deep_row("1", N1, name="甲"), reordered, [N2, "2", "乙", "服务提供者", "公司", "--", "用途", ""]]
    rows, _ = rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)
    assert [(r.name, r.filing_number) for r in rows] == [("甲", N1), ("乙", N2)]


def test_wrapped_continuation_row_is_merged() -> None:
    genai = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
    table = [
        genai,
        ["1", "浙江省", "DeepSeek", "杭州深度求索人工智能基础技术研究有", "Zhejiang-DeepSeek-20241218", "2024/12/18"],
        ["", "", "", "限公司", "", ""],  # the tail of the row on the next page
        ["2", "北京市", "Kimi 智能助手", "北京月之暗面科技有限公司", "Beijing-Kimi-20240802", "2024/8/2"],
    ]
    rows, warnings = rows_to_filings(table, Kind.GENAI_SERVICE, False)
    assert warnings == []
    assert [r.entity for r in rows] == ["杭州深度求索人工智能基础技术研究有限公司", "北京月之暗面科技有限公司"]
    assert rows[0].filed_on == "2024-12-18" and rows[0].province == "浙江省"
    assert rows[1].name == "Kimi 智能助手"


def test_number_wrapped_over_page_break_is_merged() -> None:
    genai = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
    table = [
        genai,
        ["1", "浙江省", "DeepSeek", "杭州深度求索", "Zhejiang-DeepSeek-2024", "2024/12/18"],
        ["", "", "", "", "1218", ""],
    ]
    rows, _ = rows_to_filings(table, Kind.GENAI_SERVICE, False)
    assert [r.filing_number for r in rows] == ["Zhejiang-DeepSeek-20241218"]
    assert rows[0].flags == ()


def test_full_row_without_number_is_a_parse_error() -> None:
    # A filing without its number would be lost (or stored under no key): the list is refused.
    table = [DEEP, deep_row("1", N1), deep_row("2", ""), deep_row("3", N2)]
    with pytest.raises(ParseError, match=r"^row 2: no filing number: the 备案编号 cell is empty \(2 \| 算法"):
        rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)


def test_number_without_digits_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="row 1: no filing number: the 备案编号 cell reads '待定'"):
        rows_to_filings([DEEP, deep_row("1", "待定")], Kind.DEEP_SYNTHESIS, False)


def test_row_whose_number_went_to_the_next_page_is_completed() -> None:
    # A page break cut the row before its number cell: the tail on the next page carries it.
    genai = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
    table = [
        genai,
        ["1", "浙江省", "DeepSeek", "杭州深度求索", "", "2024/12/18"],
        ["", "", "", "", "Zhejiang-DeepSeek-202412180001", ""],
    ]
    (r,), warnings = rows_to_filings(table, Kind.GENAI_SERVICE, False)
    assert (r.filing_number, r.entity, r.flags, warnings) == ("Zhejiang-DeepSeek-202412180001", "杭州深度求索", (), [])


def test_one_cell_note_row_is_skipped_with_warning() -> None:
    table = [DEEP, deep_row("1", N1), ["注：排名不分先后", "", "", "", "", "", "", ""]]
    rows, warnings = rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)
    assert len(rows) == 1 and len(warnings) == 1 and "a note, not a filing" in warnings[0]
    # With its own 序号 such a row is a filing that lost its cells: the list is refused.
    table[-1] = ["2", "某算法", "", "", "", "", "", ""]
    with pytest.raises(ParseError, match="^row 2: no filing number: the 备案编号 cell is empty"):
        rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)


def test_note_row_after_table_is_ignored() -> None:
    table = [DEEP, deep_row("1", N1), ["注：排名不分先后"] * 8]
    rows, _ = rows_to_filings(table, Kind.DEEP_SYNTHESIS, False)
    assert len(rows) == 1


def test_22_digit_number_kept_and_flagged() -> None:
    rows, _ = rows_to_filings([DEEP, deep_row("1", "网信算备1101082242366066220017号")], Kind.DEEP_SYNTHESIS, False)
    assert rows[0].filing_number == "网信算备1101082242366066220017号"
    assert "malformed_number" in rows[0].flags
    assert rows[0].province == "北京市"


def test_same_number_twice_in_one_list_is_kept() -> None:
    rows, _ = rows_to_filings([DEEP, deep_row("1", N1), deep_row("2", N1)], Kind.DEEP_SYNTHESIS, False)
    assert [r.row_index for r in rows] == [0, 1]


def test_genai_fields() -> None:
    header = ["序号", "属地", "模型名称", "备案单位", "备案号", "备案时间"]
    table = [header, ["1", "上海市", "书生 浦语", "上海人工智能实验室", "Shanghai-ShuSheng-20230823", "2023年8月23日"]]
    (r,), _ = rows_to_filings(table, Kind.GENAI_SERVICE, False)
    assert (r.province, r.filed_on, r.products, r.purpose, r.role, r.category) == (
        "上海市",
        "2023-08-23",
        (),
        "",
        None,
        None,
    )


def test_genai_without_province_cell_uses_pinyin() -> None:
    header = ["序号", "模型名称", "备案单位", "备案编号", "备案时间"]
    (r,), _ = rows_to_filings([header, ["1", "m", "e", "Beijing-M-20240101", "2024-01-01"]], Kind.GENAI_SERVICE, False)
    assert r.province == "北京市"


def test_cancellation_notice() -> None:
    header = ["序号", "算法名称", "主体名称", "备案编号", "注销时间"]
    table = [header, ["1", "某算法", "某公司", N1, "2024-05-01"], ["2", "", "", N2, "2024/5/2"]]
    rows, _ = rows_to_filings(table, Kind.DEEP_SYNTHESIS, True)
    assert [r.status for r in rows] == [Status.CANCELLED, Status.CANCELLED]
    assert rows[1].name == "" and rows[1].entity == "" and rows[1].province == "广东省"


def test_cancelled_on_column_cancels_even_outside_notices() -> None:
    header = ["序号", "算法名称", "主体名称", "备案编号", "注销时间"]
    rows, _ = rows_to_filings([header, ["1", "a", "b", N1, "2024-05-01"]], Kind.DEEP_SYNTHESIS, False)
    assert rows[0].status is Status.CANCELLED


def test_unknown_headers() -> None:
    with pytest.raises(ParseError, match="headers not recognised: 姓名 \\| 年龄"):
        rows_to_filings([["姓名", "年龄", "城市"], ["张三", "30", "北京"]], Kind.DEEP_SYNTHESIS, False)


def test_empty_table() -> None:
    with pytest.raises(ParseError, match="headers not recognised"):
        rows_to_filings([], Kind.DEEP_SYNTHESIS, False)


def test_zero_rows() -> None:
    with pytest.raises(ParseError, match="no rows"):
        rows_to_filings([DEEP, [""] * 8], Kind.DEEP_SYNTHESIS, False)


def test_remark_history_and_unknown_role() -> None:
    row = ["1", "算法", "服务使用者", "北京乙公司", "--", "用途", N1, "原主体名称“北京甲公司”变更为“北京乙公司”"]
    (r,), warnings = rows_to_filings([DEEP, row], Kind.DEEP_SYNTHESIS, False)
    assert r.entity == "北京乙公司" and r.status is Status.ACTIVE
    assert r.remark == "原主体名称“北京甲公司”变更为“北京乙公司”"
    assert r.role is None and "unknown_role" in r.flags and warnings


def test_bare_bianhao_next_to_beian_bianhao_is_seq() -> None:
    header = ["编号", "算法名称", "角色", "主体名称", "应用产品", "主要用途", "备案编号", "备注"]
    (r,), _ = rows_to_filings([header, deep_row("7", N1)], Kind.DEEP_SYNTHESIS, False)
    assert r.filing_number == N1


def test_minimal_cancellation_notice() -> None:
    rows, _ = rows_to_filings([["备案编号", "注销时间"], [N1, "2024-05-01"]], Kind.DEEP_SYNTHESIS, True)
    assert rows[0].filing_number == N1 and rows[0].status is Status.CANCELLED


@pytest.mark.parametrize(
    ("header", "registration"),
    [
        (["序号", "属地", "模型名称", "备案单位", "备案号", "备案时间"], "filed"),
        (["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"], "filed"),
        (["序号", "属地", "应用/功能名称", "登记单位", "上线编号", "登记时间"], "registered"),
        (["序号", "属地", "模型名称", "备案单位", "备案编号", "适用场景", "备案时间"], "filed"),
        (["序号", "属地", "名称", "单位", "编号", "时间"], None),
    ],
)
def test_header_says_which_genai_table(header: list[str], registration: str | None) -> None:
    mapped = map_header(header)
    assert mapped is not None and mapped.registration == registration
    assert {"name", "entity", "number", "filed_on"} <= set(mapped.columns.values())


def test_registered_header_in_the_flow_switches_tables() -> None:
    filed = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
    registered = ["序号", "属地", "应用/功能名称", "登记单位", "上线编号", "登记时间"]
    table = [
        filed,
        ["989", "国资委", "九天多模态", "中国移动通信有限公司", "ZhongYangQiYe-JiuTianDuoMotai-202410210005", "2024/11/23"],
        registered,
        ["1", "广东省", "Dr.GDCDC", "广东省疾病预防控制中心", "Guangdong-Dr.GDCDC-20260706S0054", "2025/6/30（补登）"],
        ["", "", "", "", "", ""],
    ]
    (a, b), warnings = rows_to_filings(table, Kind.GENAI_SERVICE, False)
    assert warnings == []
    assert (a.province, a.registration, a.remark, a.flags) == ("国资委", "filed", "", ())
    assert (b.entity, b.registration, b.filed_on, b.remark, b.flags) == ("广东省疾病预防控制中心", "registered", "2025-06-30", "补登", ())


def test_partial_row_after_a_new_header_is_not_merged_into_the_previous_table() -> None:
    filed = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
    registered = ["序号", "属地", "应用/功能名称", "登记单位", "上线编号", "登记时间"]
    table = [
        filed,
        ["1", "北京市", "文心一言", "北京百度网讯科技有限公司", "Beijing-WenXinYiYan-20230821", "2023/8/31"],
        registered,
        ["", "", "变影", "", "", ""],  # looks like a wrapped tail, but a header stands between
    ]
    (r,), warnings = rows_to_filings(table, Kind.GENAI_SERVICE, False)
    assert r.name == "文心一言" and len(warnings) == 1 and "a note, not a filing" in warnings[0]
    table[3] = ["", "", "变影", "", "Beijing-BianYing-20240428S0001", ""]  # empty 序号, few cells: its own row
    with pytest.raises(ParseError, match="^row 3: no filer of Beijing-BianYing-20240428S0001: the 登记单位 cell is empty"):
        rows_to_filings(table, Kind.GENAI_SERVICE, False)


def test_remark_and_date_note_together() -> None:
    header = ["序号", "属地", "应用/功能名称", "登记单位", "上线编号", "登记时间", "备注"]
    row = ["1", "北京市", "变影", "北京智学笃行科技有限公司", "Beijing-BianYing-20240428S0001", "2024/4/28（补登）", "已注销"]
    (r,), _ = rows_to_filings([header, row], Kind.GENAI_SERVICE, False)
    assert (r.remark, r.status, r.filed_on) == ("已注销；补登", Status.CANCELLED, "2024-04-28")
