"""GenAI lists as CAC publishes them (cac-site.md, "GenAI lists"), on a replica of our own.

Built at test time with the builders: the 2024-04 single 备案 table; from 2024-08 the 备案 table
then the 登记 table (docx: a second table; PDF: the 登记 header is a row in the flow of the same
table, which runs on over pages without a header); from 2026-08 a third on-device (端侧) table
whose header adds 适用场景; an annual summary repeating the year's entries; the on-device notice's
HTML table; xlsx. Rows carry what the real lists carry: 序号 running on from 989 (or empty),
属地 国资委 with ``ZhongYangQiYe-…`` numbers, 登记时间 ``2025/6/30（补登）``, numbers of every
current form (date + 4-digit sequence, ``S`` + 4 digits, mixed pinyin case, dots and digits in
the name) that wrap in narrow PDF cells, often right after a ``-``.

Every list must parse exactly: every field of every row, ``registration`` and ``scenario``
included, no empty filer, no header row as a filing, no false ``malformed_number``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pdfplumber
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from scrapers.limits import DEFAULT_LIMITS
from scrapers.parse import parse_attachment
from scrapers.parsers.pdf import _ruled_tables_pdfium, _ruled_tables_pdfminer
from scrapers.parsers.pdfium_page import PdfiumPage
from scrapers.records import Kind, ParsedList, ParseError, Status
from scrapers.tables import rows_to_filings

from builders import (
    DEEP_HEADER,
    GENAI_HEADER,
    GENAI_HEADER_V2,
    GENAI_ON_DEVICE_HEADER,
    GENAI_REGISTERED_HEADER,
    REC_HEADER,
    make_docx,
    make_genai_docx,
    make_genai_pdf,
    make_html_table,
    make_pdf,
    make_xlsx,
    ref_for,
)

# --- the replica's facts ------------------------------------------------------------------------

# (属地, pinyin of the number, filer): casing of the pinyin varies as in the real numbers.
FILERS = [
    ("北京市", "Beijing", "北京百度网讯科技有限公司"),
    ("上海市", "Shanghai", "上海人工智能创新中心"),
    ("广东省", "Guangdong", "广东省疾病预防控制中心"),
    ("浙江省", "ZheJiang", "杭州深度求索人工智能基础技术研究有限公司"),
    ("江苏省", "Jiangsu", "南京智标宝数据科技有限公司"),
    ("国资委", "ZhongYangQiYe", "中国移动通信有限公司"),
    ("四川省", "Sichuan", "咪咕音乐有限公司"),
    ("北京市", "Beijing", "北京月之暗面科技有限公司"),
    ("天津市", "Tianjin", "天津三六零快看科技有限公司"),
    ("上海市", "Shanghai", "上海稀宇科技有限公司"),
]
# (name as listed, its pinyin / Latin part of the number): dots, digits and spaces included.
SERVICES = [
    ("智标宝", "ZhiBiaoBao"),
    ("Dr.GDCDC健康助手", "Dr.GDCDC"),
    ("星火V4.0", "XingHuoV4.0"),
    ("九天多模态", "JiuTianDuoMotai"),
    ("Kimi 智能助手", "KimiZhiNengZhuShou"),
    ("360智脑", "360ZhiNao"),
    ("DeepSeek写作", "DeepSeekXieZuo"),
    ("咪咕AI视频彩铃", "MiGuAIShiPinCaiLing"),
    ("abab 6.5", "Abab6.5"),
    ("文心一言", "WenXinYiYan"),
]
# The 7 phone makers of the on-device notice (2026-07-15) and list (2026-08).
ON_DEVICE = [
    ("上海市", "Shanghai", "苹果技术开发（上海）有限公司", "Apple Intelligence端侧模型", "AppleIntelligence", "苹果手机"),
    ("广东省", "Guangdong", "华为终端有限公司", "盘古端侧大模型", "PanGuDuanCe", "华为手机"),
    ("北京市", "Beijing", "小米科技有限责任公司", "MiLM端侧模型", "MiLM", "小米手机"),
    ("广东省", "Guangdong", "广东欧珀移动通信有限公司", "AndesGPT端侧", "AndesGPT", "OPPO手机"),
    ("广东省", "Guangdong", "维沃移动通信有限公司", "蓝心端侧大模型", "LanXinDuanCe", "vivo手机"),
    ("广东省", "Guangdong", "深圳市荣耀终端有限公司", "MagicLM", "MagicLM", "荣耀手机"),
    ("天津市", "Tianjin", "三星（中国）投资有限公司", "Galaxy AI端侧模型", "GalaxyAI", "三星手机"),
]


@dataclass(frozen=True)
class Row:
    """One row as printed and the export record fields it must give."""

    seq: str
    province: str
    name: str
    entity: str
    number: str
    when: dt.date
    registration: str
    scenario: str | None = None
    late: bool = False  # 登记时间 reads 2025/6/30（补登）

    @property
    def date_cell(self) -> str:
        return f"{self.when.year}/{self.when.month}/{self.when.day}" + ("（补登）" if self.late else "")

    def cells(self, header: Sequence[str]) -> list[str]:
        by = {"序号": self.seq, "属地": self.province, "适用场景": self.scenario or "", "模型名称": self.name,
              "大模型名称": self.name, "应用/功能名称": self.name, "备案单位": self.entity, "登记单位": self.entity,
              "备案号": self.number, "备案编号": self.number, "上线编号": self.number, "备案时间": self.date_cell,
              "登记时间": self.date_cell}  # fmt: skip
        return [by[h] for h in header]

    def expected(self) -> dict[str, object]:
        return {
            "kind": "genai_service", "filing_number": self.number, "name": self.name, "entity": self.entity,
            "role": None, "category": None, "products": [], "purpose": "", "province": self.province,
            "remark": "补登" if self.late else "", "status": "active", "filed_on": self.when.isoformat(),
            "registration": self.registration, "scenario": self.scenario,
        }  # fmt: skip


def _month_end(month: str) -> dt.date:
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year + mon // 12, mon % 12 + 1, 1) - dt.timedelta(days=1)


def filed_rows(month: str, count: int, first_seq: int, *, old_form: bool = False, offset: int = 0) -> list[Row]:
    """备案 rows of the list of ``month``: filed at most four months before its end, numbers
    ``…-YYYYMMDD`` (the first lists) or ``…-YYYYMMDDNNNN`` (since 2024-08)."""
    end = _month_end(month)
    rows = []
    for i in range(count):
        province, pinyin, entity = FILERS[(i + offset) % len(FILERS)]
        name, latin = SERVICES[(i * 3 + offset) % len(SERVICES)]
        when = end - dt.timedelta(days=(i * 7) % 120)
        number = f"{pinyin}-{latin}{i + offset}-{when:%Y%m%d}" if old_form else f"{pinyin}-{latin}-{when:%Y%m%d}{i + offset + 1:04d}"
        rows.append(Row(str(first_seq + i) if first_seq else "", province, f"{name}{i + offset}", entity, number, when, "filed"))
    return rows


def registered_rows(month: str, count: int, *, offset: int = 0) -> list[Row]:
    """登记 rows: apps registered by provincial offices, 上线编号 ``…-YYYYMMDDSNNNN``; every
    fifth one registered late (登记时间 with （补登））."""
    end = _month_end(month)
    rows = []
    for i in range(count):
        province, pinyin, entity = FILERS[(i * 7 + offset) % len(FILERS)]
        name, latin = SERVICES[(i + offset) % len(SERVICES)]
        when = end - dt.timedelta(days=(i * 5) % 90)
        number = f"{pinyin}-{latin}App-{when:%Y%m%d}S{i + offset + 1:04d}"
        rows.append(Row(str(i + 1), province, f"{name}应用{i + offset}", entity, number, when, "registered", late=i % 5 == 2))
    return rows


def on_device_rows(month: str, first_seq: int) -> list[Row]:
    end = _month_end(month)
    rows = []
    for i, (province, pinyin, entity, name, latin, scenario) in enumerate(ON_DEVICE):
        when = end - dt.timedelta(days=30 + i)
        number = f"{pinyin}-{latin}-{when:%Y%m%d}{i + 1:04d}"
        rows.append(Row(str(first_seq + i), province, name, entity, number, when, "filed", scenario=scenario))
    return rows


def check_exact(parsed: ParsedList, rows: Sequence[Row]) -> None:
    """Every field of every row, in order; nothing invented, nothing flagged."""
    assert [r.fields() for r in parsed.rows] == [row.expected() for row in rows]
    assert [r.row_index for r in parsed.rows] == list(range(len(rows)))
    assert all(r.flags == () for r in parsed.rows), [r.flags for r in parsed.rows if r.flags]
    headers = set(GENAI_HEADER + GENAI_HEADER_V2 + GENAI_REGISTERED_HEADER + GENAI_ON_DEVICE_HEADER)
    for r in parsed.rows:
        assert r.entity and r.name and r.filing_number
        assert not headers & {r.name, r.entity, r.filing_number, r.province or ""}
        assert all(ch.isprintable() for ch in r.filing_number + r.name + r.entity)


def _cells(header: Sequence[str], rows: Sequence[Row]) -> list[list[str]]:
    return [row.cells(header) for row in rows]


REF = ref_for(Kind.GENAI_SERVICE, "2025-01")

# --- 2024-04: one table of filed services ------------------------------------------------------


def test_first_list_one_filed_table_docx() -> None:
    rows = filed_rows("2024-04", 30, 1, old_form=True)
    data = make_docx(GENAI_HEADER, _cells(GENAI_HEADER, rows), title="生成式人工智能服务已备案信息（2024年4月）")
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2024-04"))
    check_exact(parsed, rows)
    assert parsed.warnings == ()


# --- 2024-08 on: 备案 then 登记 ----------------------------------------------------------------


def test_filed_then_registered_tables_docx_with_empty_seq() -> None:
    filed = filed_rows("2024-08", 25, 0)  # 序号 empty (Word auto-numbering)
    registered = registered_rows("2024-08", 15)
    data = make_genai_docx(
        [(GENAI_HEADER, _cells(GENAI_HEADER, filed)), (GENAI_REGISTERED_HEADER, _cells(GENAI_REGISTERED_HEADER, registered))],
        title="生成式人工智能服务已备案和已登记信息（2024年8月）",
    )
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2024-08"))
    check_exact(parsed, filed + registered)
    assert parsed.warnings == ()


def _narrow_number_column(font_size: float = 9) -> float:
    """A 上线编号 column just wide enough for ``Jiangsu-ZhiBiaoBao-``: that number wraps right
    after its second hyphen, as real ones do (reportlab pads a cell by 6 pt on each side)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return pdfmetrics.stringWidth("Jiangsu-ZhiBiaoBao-", "STSong-Light", font_size) + 12 + 2


def _flow_pdf() -> tuple[bytes, list[Row]]:
    """The 2025-01 layout: one ruled flow over several pages, the 登记 header a row inside it,
    序号 running on from 989, narrow number cells."""
    filed = filed_rows("2025-01", 70, 989)
    registered = registered_rows("2025-01", 45, offset=3)
    widths = [34, 40, 110, 150, _narrow_number_column(), 90]
    data = make_genai_pdf(
        [(GENAI_HEADER_V2, _cells(GENAI_HEADER_V2, filed)), (GENAI_REGISTERED_HEADER, _cells(GENAI_REGISTERED_HEADER, registered))],
        col_widths=[widths, widths],
    )
    return data, filed + registered


@pytest.fixture(scope="module")
def flow_pdf() -> tuple[bytes, list[Row]]:
    return _flow_pdf()


def test_pdf_flow_over_pages_with_the_registered_header_as_a_row(flow_pdf: tuple[bytes, list[Row]]) -> None:
    data, rows = flow_pdf
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        texts = [page.extract_text() or "" for page in pdf.pages]
    assert len(texts) >= 3
    assert sum("备案单位" in t for t in texts) == 1 and sum("登记单位" in t for t in texts) == 1  # headers not repeated
    parsed = parse_attachment(data, REF)
    assert parsed.format == "pdf"
    check_exact(parsed, rows)
    assert parsed.warnings == ()


def test_pdf_hyphen_at_a_wrap_is_restored_by_both_readers(flow_pdf: tuple[bytes, list[Row]]) -> None:
    data, rows = flow_pdf
    # The PDF reproduces what CAC's PDFs do to PDFium: the hyphen ending a wrapped line of a
    # number is reported as \x02 (its "hyphen at a line end" code).
    document = pdfium.PdfDocument(data)
    try:
        marks = sum(c["text"] == "\x02" for i in range(len(document)) for c in PdfiumPage(document[i]).chars)
    finally:
        document.close()
    assert marks >= 3
    numbers = {row.number for row in rows}
    for reader in (_ruled_tables_pdfium, _ruled_tables_pdfminer):
        tables = reader(data, DEFAULT_LIMITS)
        cells = [cell for table in tables for row in table for cell in row]
        assert not any(ch in cell for cell in cells for ch in "\x02\u00ad"), reader.__name__
        got = {"".join(cell.split()) for cell in cells} & numbers
        assert got == numbers, (reader.__name__, sorted(numbers - got)[:5])


def test_one_number_wrapping_after_its_hyphen() -> None:
    number = "Jiangsu-ZhiBiaoBao-202512030061"
    row = Row("989", "江苏省", "智标宝", "南京智标宝数据科技有限公司", number, dt.date(2025, 12, 30), "filed")
    data = make_pdf(GENAI_HEADER_V2, [row.cells(GENAI_HEADER_V2)], col_widths=[40, 45, 90, 150, _narrow_number_column(10), 70])
    parsed = parse_attachment(data, REF)
    check_exact(parsed, [row])


# --- 2026-08 on: 备案, 登记 and on-device ---------------------------------------------------------


def _three_tables(month: str = "2026-08") -> list[tuple[list[str], list[Row]]]:
    return [
        (GENAI_HEADER_V2, filed_rows(month, 20, 1109, offset=5)),
        (GENAI_REGISTERED_HEADER, registered_rows(month, 18, offset=11)),
        (GENAI_ON_DEVICE_HEADER, on_device_rows(month, 1129)),
    ]


def test_three_tables_docx() -> None:
    sections = _three_tables()
    data = make_genai_docx([(h, _cells(h, rows)) for h, rows in sections])
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2026-08"))
    check_exact(parsed, [row for _, rows in sections for row in rows])
    on_device = [r for r in parsed.rows if r.scenario]
    assert [(r.registration, r.scenario) for r in on_device][:2] == [("filed", "苹果手机"), ("filed", "华为手机")]
    assert on_device[0].entity == "苹果技术开发（上海）有限公司"


def test_three_tables_pdf() -> None:
    sections = _three_tables()
    six = [34, 40, 110, 150, 130, 90]
    seven = [30, 40, 100, 120, 120, 60, 80]
    data = make_genai_pdf([(h, _cells(h, rows)) for h, rows in sections], col_widths=[six, six, seven])
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2026-08"))
    check_exact(parsed, [row for _, rows in sections for row in rows])


def test_on_device_scenario_column_anywhere_and_header_inside_an_xlsx_sheet() -> None:
    sections = _three_tables()
    moved = ["序号", "属地", "适用场景", "大模型名称", "备案单位", "备案编号", "备案时间"]  # 适用场景 moved: mapped by text
    body: list[list[str]] = []
    for header, rows in sections:
        header = moved if "适用场景" in header else header
        body += [list(header) + [""] * (7 - len(header)), *(r.cells(header) + [""] * (7 - len(header)) for r in rows)]
    data = make_xlsx(body[0], body[1:], title="生成式人工智能服务已备案和已登记信息（2026年8月）")
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2026-08"))
    assert parsed.format == "xlsx"
    check_exact(parsed, [row for _, rows in sections for row in rows])


def test_on_device_notice_html_table() -> None:
    # The 2026-07-15 notice carries its 7 rows in the page's HTML (no attachment).
    rows = on_device_rows("2026-07", 1)
    data = make_html_table(GENAI_ON_DEVICE_HEADER, _cells(GENAI_ON_DEVICE_HEADER, rows), title="关于发布7款提供手机端侧生成式人工智能服务已备案信息的公告")
    parsed = parse_attachment(data, ref_for(Kind.GENAI_SERVICE, "2026-07"))
    assert parsed.format == "html"
    check_exact(parsed, rows)


# --- annual summary: the same layout, repeating the year's entries -------------------------------


def test_annual_summary_repeats_entries_and_parses_the_same() -> None:
    first = (filed_rows("2025-03", 12, 302), registered_rows("2025-03", 8))
    second = (filed_rows("2025-07", 10, 314, offset=12), registered_rows("2025-07", 9, offset=8))
    lists = []
    for filed, registered in (first, second):
        lists.append(make_genai_docx([(GENAI_HEADER_V2, _cells(GENAI_HEADER_V2, filed)), (GENAI_REGISTERED_HEADER, _cells(GENAI_REGISTERED_HEADER, registered))]))
    # The summary renumbers from 1 and lists every entry of the year again.
    filed_all = [dataclasses.replace(r, seq=str(i + 1)) for i, r in enumerate(first[0] + second[0])]
    registered_all = first[1] + second[1]
    summary = make_genai_pdf(
        [(GENAI_HEADER_V2, _cells(GENAI_HEADER_V2, filed_all)), (GENAI_REGISTERED_HEADER, _cells(GENAI_REGISTERED_HEADER, registered_all))],
        title="2025年生成式人工智能服务已备案和已登记信息汇总",
    )
    parsed_lists = [parse_attachment(d, REF) for d in lists]
    parsed_summary = parse_attachment(summary, REF)
    check_exact(parsed_summary, filed_all + registered_all)
    held = {r.filing_number: r.fields() for p in parsed_lists for r in p.rows}
    assert {r.filing_number: r.fields() for r in parsed_summary.rows} == held  # the same filings, not new ones


# --- header rows, registration and the filer rule ------------------------------------------------


def test_repeated_header_rows_inside_a_table_are_never_filings() -> None:
    filed = filed_rows("2025-01", 6, 989)
    registered = registered_rows("2025-01", 4)
    body = [
        *_cells(GENAI_HEADER_V2, filed[:3]),
        list(GENAI_HEADER_V2),  # the header again on a new page
        *_cells(GENAI_HEADER_V2, filed[3:]),
        ["二、已登记的生成式人工智能应用或功能"] * 6,  # a merged section title
        list(GENAI_REGISTERED_HEADER),
        *_cells(GENAI_REGISTERED_HEADER, registered[:2]),
        list(GENAI_REGISTERED_HEADER),
        *_cells(GENAI_REGISTERED_HEADER, registered[2:]),
    ]
    rows, warnings = rows_to_filings([GENAI_HEADER_V2, *body], Kind.GENAI_SERVICE)
    assert [r.fields() for r in rows] == [r.expected() for r in filed + registered]
    assert warnings == []


def test_registration_follows_the_table_and_the_number_form_is_a_check() -> None:
    odd = Row("1", "上海市", "某应用", "上海某科技有限公司", "Shanghai-MouYingYong-20250101S0001", dt.date(2025, 1, 1), "filed")
    rows, warnings = rows_to_filings([GENAI_HEADER_V2, odd.cells(GENAI_HEADER_V2)], Kind.GENAI_SERVICE)
    assert rows[0].registration == "filed"
    assert warnings == ["row 0: Shanghai-MouYingYong-20250101S0001 has the registered number form under a filed table's header"]
    # A header that names neither (名称 / 单位 / 编号 / 时间): the number's form decides.
    neutral = ["序号", "属地", "名称", "单位", "编号", "时间"]
    rows, warnings = rows_to_filings(
        [neutral, odd.cells(GENAI_HEADER_V2), ["2", "北京市", "某模型", "北京某公司", "Beijing-MouMoXing-202501010002", "2025/1/1"]],
        Kind.GENAI_SERVICE,
    )
    assert [r.registration for r in rows] == ["registered", "filed"] and warnings == []
    assert rows[0].entity == "上海某科技有限公司"


def test_other_kinds_have_no_registration_or_scenario() -> None:
    rows, _ = rows_to_filings(
        [DEEP_HEADER, ["1", "算法", "服务提供者", "北京某公司", "--", "用途", "网信算备110101128387701230011号", ""]], Kind.DEEP_SYNTHESIS
    )
    assert (rows[0].registration, rows[0].scenario) == (None, None)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["序号", "属地", "应用/功能名称", "上线编号", "登记时间"], "filer"),
        (["序号", "属地", "登记单位", "上线编号", "登记时间"], "name"),
        (["序号", "算法名称", "角色", "应用产品", "主要用途", "备案编号", "备注"], "filer"),
        (["序号", "算法名称", "算法类别", "应用产品", "主要用途", "备案编号", "备注"], "filer"),
    ],
)
def test_a_table_without_a_filer_or_name_column_is_a_parse_error(header: list[str], missing: str) -> None:
    row = [f"v{i}" if "编号" not in h else "Beijing-X-202401010001" for i, h in enumerate(header)]
    with pytest.raises(ParseError, match=f"^row 0: the header 「.*」 has no column for the {missing} \\("):
        rows_to_filings([header, row], Kind.GENAI_SERVICE)


def test_a_registered_table_without_its_filer_column_fails_the_whole_list() -> None:
    filed = filed_rows("2024-08", 3, 118)
    registered = registered_rows("2024-08", 3)
    header = ["序号", "属地", "应用/功能名称", "上线编号", "登记时间"]
    data = make_genai_docx(
        [(GENAI_HEADER, _cells(GENAI_HEADER, filed)), (header, _cells(header, registered))],
    )
    with pytest.raises(ParseError, match="^docx: row 4: the header 「序号 \\| 属地 \\| 应用/功能名称 \\| 上线编号 \\| 登记时间」 has no column for the filer"):
        parse_attachment(data, REF)


@pytest.mark.parametrize(
    ("kind", "header", "row", "message"),
    [
        (Kind.GENAI_SERVICE, GENAI_REGISTERED_HEADER, ["1", "北京市", "变影", "", "Beijing-BianYing-20240428S0001", "2024/4/28"],
         "row 2: no filer of Beijing-BianYing-20240428S0001: the 登记单位 cell is empty"),
        (Kind.GENAI_SERVICE, GENAI_HEADER_V2, ["1", "北京市", "", "北京某公司", "Beijing-X-202404280001", "2024/4/28"],
         "row 2: no name of Beijing-X-202404280001: the 大模型名称 cell is empty"),
        (Kind.GENAI_SERVICE, GENAI_HEADER_V2, ["1", "北京市", "某模型", "北京某公司", "--", "2024/4/28"],
         "row 2: no filing number: the 备案编号 cell reads '--'"),
        (Kind.DEEP_SYNTHESIS, DEEP_HEADER, ["1", "算法", "服务提供者", "—", "--", "用途", "网信算备110101128387701230011号", ""],
         "row 2: no filer of 网信算备110101128387701230011号: the 主体名称 cell is empty"),
        (Kind.ALGORITHM_RECOMMENDATION, REC_HEADER, ["1", "", "个性化推送类", "北京某公司", "--", "用途", "网信算备110101128387702220011号", ""],
         "row 2: no name of 网信算备110101128387702220011号: the 算法名称 cell is empty"),
    ],
)  # fmt: skip
def test_a_row_without_filer_name_or_number_fails_the_list(kind: Kind, header: list[str], row: list[str], message: str) -> None:
    good = {
        Kind.GENAI_SERVICE: ["0", "北京市", "好模型", "北京好公司", "Beijing-Hao-202404280009", "2024/4/28"],
        Kind.DEEP_SYNTHESIS: ["0", "好算法", "服务提供者", "北京好公司", "好(APP)", "用途", "网信算备110101128387701230031号", ""],
        Kind.ALGORITHM_RECOMMENDATION: ["0", "好算法", "排序精选类", "北京好公司", "好(APP)", "用途", "网信算备110101128387703220031号", ""],
    }[kind]
    with pytest.raises(ParseError) as err:
        rows_to_filings([header, good, row], kind)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    # Through parse_attachment the list fails whole, never half-stored.
    with pytest.raises(ParseError, match="^docx: row 2: no "):
        parse_attachment(make_docx(header, [good, row]), ref_for(kind))


def test_cancellation_notices_only_need_the_number() -> None:
    rows, _ = rows_to_filings(
        [["序号", "备案编号", "注销时间"], ["1", "Beijing-WenXinYiYan-20230821", "2026/1/5"]], Kind.GENAI_SERVICE, True
    )
    assert rows[0].status is Status.CANCELLED and rows[0].filing_number == "Beijing-WenXinYiYan-20230821"


# --- the bundled replica (what `cacwatch demo` and `cacwatch replica` serve) ----------------------


def test_bundled_replica_serves_real_genai_rows() -> None:
    """The sample's real GenAI lists: every row with its filer, the number form of its table,
    never dated after its own list month; no made-up rows such as ``Beijing-34-20241111``."""
    import re

    from test_parse import sample_attachments

    seen = {}
    for ref, path in sample_attachments():
        if ref.kind is not Kind.GENAI_SERVICE:
            continue
        parsed = parse_attachment(path.read_bytes(), ref)
        end = _month_end(ref.list_month).isoformat()
        for r in parsed.rows:
            assert r.entity and r.name and r.flags == () and r.filed_on is not None and r.filed_on <= end, r
            assert not re.fullmatch(r"[A-Za-z]+-\d+-\d{8}", r.filing_number), r.filing_number
            assert (r.registration == "registered") == bool(re.search(r"\d{8}S\d{4}$", r.filing_number)), r
        seen[ref.list_month] = [r.registration for r in parsed.rows]
    assert {month: (regs.count("filed"), regs.count("registered")) for month, regs in seen.items()} == {
        "2024-04": (117, 0),
        "2024-08": (71, 26),
        "2025-01": (50, 48),
    }


def test_filed_and_registered_tables_as_two_html_tables() -> None:
    filed = filed_rows("2025-01", 6, 989)
    registered = registered_rows("2025-01", 6)
    first = make_html_table(GENAI_HEADER_V2, _cells(GENAI_HEADER_V2, filed)).decode()
    second = make_html_table(GENAI_REGISTERED_HEADER, _cells(GENAI_REGISTERED_HEADER, registered)).decode()
    table = second[second.index("<table>") : second.index("</table>") + len("</table>")]
    page = first.replace("</table>", "</table><p>二、已登记的生成式人工智能应用或功能</p>" + table, 1)
    parsed = parse_attachment(page.encode(), REF)
    check_exact(parsed, filed + registered)
