"""parse_attachment end to end: the 9 real sample attachments against the expected
export, and generated files with every quirk of cac-site.md in every format."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from pathlib import Path

import pytest

from scrapers.normalize import list_month_from_name
from scrapers.parse import parse_attachment
from scrapers.records import FilingRow, Kind, ListRef, ParsedList, ParseError, Status

from builders import (
    CANCEL_HEADER,
    DEEP_HEADER,
    GENAI_HEADER,
    GENAI_HEADER_V2,
    REC_HEADER,
    make_docx,
    make_html_table,
    make_pdf,
    make_xls,
    make_xlsx,
    ref_for,
)

ROOT = Path(__file__).resolve().parents[1]
REPLICA = ROOT / "scrapers" / "replica"
EXPECTED = ROOT / "tests" / "data" / "expected.jsonl"


def kind_from_name(name: str) -> Kind:
    if "深度合成" in name:
        return Kind.DEEP_SYNTHESIS
    if "生成式人工智能" in name:
        return Kind.GENAI_SERVICE
    if "互联网信息服务算法" in name or "算法备案清单" in name:
        return Kind.ALGORITHM_RECOMMENDATION
    raise AssertionError(f"no kind in {name!r}")


def sample_attachments() -> list[tuple[ListRef, Path]]:
    routes = json.loads((REPLICA / "routes.json").read_text(encoding="utf-8"))
    out: list[tuple[ListRef, Path]] = []
    for url, route in routes.items():
        disposition = route.get("disposition")
        if not disposition:
            continue
        name = urllib.parse.unquote(disposition.split("''", 1)[1])
        month = list_month_from_name(name)
        assert month is not None, name
        ref = ListRef(
            kind=kind_from_name(name),
            list_month=month,
            name=name,
            title=name,
            page_url="https://www.cac.gov.cn/",
            attachment_url="https://www.cac.gov.cn" + url,
        )
        out.append((ref, REPLICA / "site" / route["file"]))
    return sorted(out, key=lambda item: (item[0].kind, item[0].list_month))


def by_number(parsed: ParsedList) -> dict[str, FilingRow]:
    return {r.filing_number: r for r in parsed.rows}


# --- the real sample ---------------------------------------------------------------


def test_sample_has_nine_attachments() -> None:
    items = sample_attachments()
    assert len(items) == 9
    assert {p.read_bytes()[:4] for _, p in items} == {b"PK\x03\x04", b"%PDF"}


def test_every_field_of_the_sample_matches_the_expected_export() -> None:
    expected = {}
    for line in EXPECTED.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        expected[(record["kind"], record["filing_number"])] = record
    assert len(expected) == 815

    # Oldest list first: the first list seen gives list_month, the newest the fields.
    got: dict[tuple[str, str], dict[str, object]] = {}
    for ref, path in sample_attachments():
        parsed = parse_attachment(path.read_bytes(), ref)
        assert parsed.warnings == ()
        assert [r.row_index for r in parsed.rows] == list(range(len(parsed.rows)))
        for row in parsed.rows:
            key = (row.kind.value, row.filing_number)
            first_month = got[key]["list_month"] if key in got else ref.list_month
            got[key] = {**row.fields(), "list_month": first_month}

    assert set(got) == set(expected)
    mismatches = [
        (key, field, got[key][field], value)
        for key, record in expected.items()
        for field, value in record.items()
        if got[key][field] != value
    ]
    total = sum(len(r) for r in expected.values())
    assert total == 11219
    assert mismatches == [], f"{len(mismatches)} of {total} fields differ: {mismatches[:5]}"


def test_sample_formats_and_hashes() -> None:
    import hashlib

    for ref, path in sample_attachments():
        data = path.read_bytes()
        parsed = parse_attachment(data, ref)
        assert parsed.sha256 == hashlib.sha256(data).hexdigest()
        assert parsed.format == ("pdf" if data.startswith(b"%PDF") else "docx")
        assert parsed.ref is ref


# --- generated quirk files ---------------------------------------------------------

N22 = "网信算备1101082242366066220017号"


def quirky_deep_rows() -> list[list[str]]:
    return [
        ["", "风行视频生成算法", "服务提供者", "北京风行在线技术有限公司",
         "风行视频（APP、网站、小程序）、风行电视应用(APP)", "应用于视频生成场景。", "网信算备110105199127801230013号", ""],
        ["", "Kimi 智能助手算法", "服务技术支持者", "北京月之暗面科技有限公司", "--",
         "应用于对话生成场景，根据用户输入的文本生成回复。", "网信算备 110108413760701230011 号", "已注销"],
        ["", "长名算法", "服务提供者", "北京乙科技有限公司", "WPS AI（APP）、手机天猫 (APP)", "应用于\n文本生成", N22,
         "原主体名称“北京甲科技有限公司”变更为“北京乙科技有限公司”"],
        ["", "有道算法", "服务提供者", "网易有道（杭州）有限公司",
         "有道智云-文档翻译（开发版）(网站)、\nHi Echo口语教练(小程序)", "翻译", "网信算备330110046572901230019号",
         "2024年8月，新增关联产品：有道翻译(网站)"],
        ["", "深圳算法", "服务技术支持者", "深圳某某有限公司", "—", "合成", "网信算备440305800709501230015号", "变更内容：产品变更"],
    ]  # fmt: skip


def check_quirky_deep(parsed: ParsedList) -> None:
    rows = by_number(parsed)
    assert len(parsed.rows) == 5
    r = rows["网信算备110105199127801230013号"]
    assert r.products == ("风行视频(APP、网站、小程序)", "风行电视应用(APP)")
    assert (r.role, r.province, r.status, r.remark) == ("provider", "北京市", Status.ACTIVE, "")
    r = rows["网信算备110108413760701230011号"]
    assert (r.name, r.role, r.products, r.status) == ("Kimi 智能助手算法", "technical_supporter", (), Status.CANCELLED)
    assert r.purpose == "应用于对话生成场景，根据用户输入的文本生成回复。"
    r = rows[N22]
    assert "malformed_number" in r.flags and r.province == "北京市"
    assert r.products == ("WPS AI(APP)", "手机天猫 (APP)")
    assert r.entity == "北京乙科技有限公司" and r.status is Status.ACTIVE
    assert r.purpose == "应用于文本生成"
    r = rows["网信算备330110046572901230019号"]
    assert r.products == ("有道智云-文档翻译(开发版)(网站)", "Hi Echo口语教练(小程序)")
    assert r.entity == "网易有道（杭州）有限公司" and r.province == "浙江省"
    r = rows["网信算备440305800709501230015号"]
    assert r.products == () and r.province == "广东省" and r.remark == "变更内容：产品变更"


def test_docx_merged_header_split_table_and_quirks() -> None:
    data = make_docx(DEEP_HEADER, quirky_deep_rows(), merged_header=True, split_at=3)
    parsed = parse_attachment(data, ref_for(Kind.DEEP_SYNTHESIS))
    assert parsed.format == "docx"
    check_quirky_deep(parsed)
    assert [r.row_index for r in parsed.rows] == [0, 1, 2, 3, 4]


def test_docx_merged_data_cells_and_repeated_header() -> None:
    data = make_docx(DEEP_HEADER, quirky_deep_rows(), merged_header=True, merged_rows=True, split_at=2, repeat_header=True)
    check_quirky_deep(parse_attachment(data, ref_for(Kind.DEEP_SYNTHESIS)))


def test_docx_columns_in_another_order() -> None:
    order = [6, 3, 1, 7, 0, 5, 4, 2]  # 备案编号 first, 角色 last
    header = [DEEP_HEADER[i] for i in order]
    rows = [[row[i] for i in order] for row in quirky_deep_rows()]
    check_quirky_deep(parse_attachment(make_docx(header, rows), ref_for(Kind.DEEP_SYNTHESIS)))


def test_docx_recommendation_list() -> None:
    rows = [
        ["1", "网易传媒信息推送算法", "个性化推送类", "北京网易传媒有限公司", "网易新闻（APP）",
         "应用于通知栏信息推送。", "网信算备110101135224302220011号", ""],
        ["2", "芒果TV内容安全算法", "检索过滤类", "湖南快乐阳光互动娱乐传媒有限公司", "芒果TV （网站、APP）",
         "内容安全。", "网信算备430105854367805230011号", "已注销"],
    ]  # fmt: skip
    parsed = parse_attachment(make_docx(REC_HEADER, rows), ref_for(Kind.ALGORITHM_RECOMMENDATION, "2022-08"))
    a, b = parsed.rows
    assert (a.category, a.role, a.products, a.province) == ("个性化推送类", None, ("网易新闻(APP)",), "北京市")
    assert (b.category, b.products, b.province, b.status) == ("检索过滤类", ("芒果TV (网站、APP)",), "湖南省", Status.CANCELLED)


def genai_rows(n: int) -> list[list[object]]:
    long_entity = "杭州深度求索人工智能基础技术研究有限公司"
    rows: list[list[object]] = []
    for i in range(1, n + 1):
        rows.append(
            [
                str(i),
                "浙江省" if i % 3 == 0 else "北京市",
                f"DeepSeek写作{i}" if i % 3 == 0 else f"Kimi 智能助手 {i}",
                long_entity if i % 3 == 0 else "北京月之暗面科技有限公司",
                f"Zhejiang-DeepSeek{i}-20241218{i:04d}" if i % 3 == 0 else f"Beijing-Kimi{i}-20240802",
                f"2024/{i % 12 + 1}/{i % 28 + 1}",
            ]
        )
    return rows


def check_genai(parsed: ParsedList, rows: list[list[object]]) -> None:
    assert len(parsed.rows) == len(rows)
    for got, row in zip(parsed.rows, rows):
        assert got.filing_number == row[4]
        assert (got.province, got.name, got.entity) == (row[1], row[2], row[3])
        assert got.products == () and got.purpose == "" and got.role is None and got.category is None
        assert got.status is Status.ACTIVE and got.flags == ()
        assert (got.registration, got.scenario) == ("filed", None)
        if isinstance(row[5], dt.date):
            assert got.filed_on == row[5].isoformat()
        else:
            y, m, d = (int(x) for x in str(row[5]).split("/"))
            assert got.filed_on == dt.date(y, m, d).isoformat()


def test_pdf_three_pages_header_on_first_page_only() -> None:
    rows = genai_rows(90)
    data = make_pdf(GENAI_HEADER_V2, rows, col_widths=[30, 45, 110, 120, 170, 80])
    import pdfplumber
    import io

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) >= 3
        assert "备案单位" not in (pdf.pages[1].extract_text() or "")
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2025-01"))
    assert parsed.format == "pdf" and parsed.warnings == ()
    check_genai(parsed, rows)


def test_pdf_long_wrapped_cells_join_without_spurious_spaces() -> None:
    rows = [
        ["1", "北京市", "Kimi 智能助手 Hi Echo Talking Ai", "北京月之暗面科技有限公司北京月之暗面科技有限公司",
         "Beijing-KimiZhiNengZhuShouHiEcho-20240802S0001", "2024/8/2"],
        ["2", "浙江省", "DeepSeek写作DeepSeek写作DeepSeek写作", "杭州深度求索人工智能基础技术研究有限公司",
         "Zhejiang-DeepSeek-20241218", "2024/12/18"],
    ]  # fmt: skip
    data = make_pdf(GENAI_HEADER, rows, col_widths=[30, 45, 70, 90, 80, 60])
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE))
    check_genai(parsed, rows)


def test_pdf_row_split_over_a_page_break_is_merged() -> None:
    rows = genai_rows(60)
    rows[44][3] = "杭州深度求索人工智能基础技术研究有限公司" * 6  # tall row near a page end
    data = make_pdf(GENAI_HEADER_V2, rows, col_widths=[30, 45, 110, 120, 170, 80], split_in_row=True)
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE))
    check_genai(parsed, rows)


def test_pdf_deep_synthesis_list() -> None:
    data = make_pdf(DEEP_HEADER, quirky_deep_rows(), col_widths=[25, 60, 50, 70, 100, 90, 80, 80])
    check_quirky_deep(parse_attachment(data, ref_for(Kind.DEEP_SYNTHESIS)))


def test_xlsx_genai_header_variant_with_date_cells() -> None:
    rows = genai_rows(12)
    for i, row in enumerate(rows):
        row[0] = i + 1  # numeric 序号
        row[5] = dt.date(2024, i % 12 + 1, i + 1)
    data = make_xlsx(
        GENAI_HEADER_V2,
        rows,
        title="生成式人工智能服务已备案信息（2025年1月）",
        extra_sheets={"说明": [["本表按备案时间排序"]]},
    )
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2025-01"))
    assert parsed.format == "xlsx"
    check_genai(parsed, rows)


def test_xlsx_all_sheets_with_a_header_are_read() -> None:
    rows = genai_rows(6)
    data = make_xlsx(GENAI_HEADER, rows[:3], extra_sheets={"第二批": [GENAI_HEADER, *rows[3:]]})
    check_genai(parse_attachment(data, ref_for(Kind.GENAI_SERVICE)), rows)


def test_xls_legacy_workbook() -> None:
    rows = genai_rows(5)
    for i, row in enumerate(rows):
        row[5] = dt.date(2024, 3, i + 1)
    data = make_xls(GENAI_HEADER, rows)
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE))
    assert parsed.format == "xls"
    check_genai(parsed, rows)


def test_html_table_with_colspan_header() -> None:
    data = make_html_table(DEEP_HEADER, quirky_deep_rows(), colspan_header="主要用途")
    parsed = parse_attachment(data, ref_for(Kind.DEEP_SYNTHESIS))
    assert parsed.format == "html"
    check_quirky_deep(parsed)


def test_cancellation_notice_pdf() -> None:
    rows = [
        ["1", "某生成算法", "北京某公司", "网信算备110101128387701230011号", "2024-05-01"],
        ["2", "某推荐算法", "深圳某公司", "网信算备440305800709501230015号", "2024年5月2日"],
    ]
    parsed = parse_attachment(make_pdf(CANCEL_HEADER, rows), ref_for(Kind.DEEP_SYNTHESIS, cancellation=True))
    assert [r.status for r in parsed.rows] == [Status.CANCELLED, Status.CANCELLED]
    assert [r.province for r in parsed.rows] == ["北京市", "广东省"]
    assert parsed.rows[0].name == "某生成算法" and parsed.rows[0].products == ()


def test_cancellation_notice_docx() -> None:
    rows = [["1", "某算法", "北京某公司", "网信算备110101128387701230011号", "2024/5/1"]]
    parsed = parse_attachment(make_docx(CANCEL_HEADER, rows), ref_for(Kind.ALGORITHM_RECOMMENDATION, cancellation=True))
    (r,) = parsed.rows
    assert r.status is Status.CANCELLED and r.entity == "北京某公司" and r.category is None


def test_largest_known_list_size_parses() -> None:
    rows = [
        [str(i), f"算法{i}", "服务提供者", "北京某科技有限公司", "产品（APP）、产品2(网站)", "应用于文本生成。",
         f"网信算备110101128387701{i:06d}1号", ""]
        for i in range(779)
    ]  # fmt: skip
    data = make_docx(DEEP_HEADER, rows)
    parsed = parse_attachment(data, ref_for(Kind.DEEP_SYNTHESIS))  # speed is measured in benchmarks/parse_speed.py
    assert len(parsed.rows) == 779


def test_docx_without_a_list_table() -> None:
    data = make_docx(["姓名", "年龄", "城市"], [["张三", "30", "北京"]])
    with pytest.raises(ParseError, match="headers not recognised"):
        parse_attachment(data, ref_for(Kind.DEEP_SYNTHESIS))


def test_docx_with_header_only() -> None:
    with pytest.raises(ParseError, match="no rows"):
        parse_attachment(make_docx(DEEP_HEADER, []), ref_for(Kind.DEEP_SYNTHESIS))


def test_docx_list_nested_in_a_layout_table() -> None:
    import copy
    import io

    import docx

    data = make_docx(DEEP_HEADER, quirky_deep_rows())
    document = docx.Document(io.BytesIO(data))
    inner = document.tables[0]._tbl
    frame = document.add_table(rows=1, cols=1)
    tc = frame.cell(0, 0)._tc
    tc.append(copy.deepcopy(inner))
    tc.append(copy.deepcopy(tc.p_lst[0]))  # a cell must end with a paragraph
    inner.getparent().remove(inner)
    buf = io.BytesIO()
    document.save(buf)
    check_quirky_deep(parse_attachment(buf.getvalue(), ref_for(Kind.DEEP_SYNTHESIS)))


def test_docx_vertically_merged_entity_is_carried_down() -> None:
    import io

    import docx

    rows = quirky_deep_rows()[:2]
    rows[1][3] = rows[0][3]
    document = docx.Document(io.BytesIO(make_docx(DEEP_HEADER, rows)))
    table = document.tables[0]
    table.cell(1, 3).merge(table.cell(2, 3))  # 主体名称 spans both data rows
    table.cell(1, 3).text = rows[0][3]
    buf = io.BytesIO()
    document.save(buf)
    parsed = parse_attachment(buf.getvalue(), ref_for(Kind.DEEP_SYNTHESIS))
    assert [r.entity for r in parsed.rows] == [rows[0][3], rows[0][3]]
