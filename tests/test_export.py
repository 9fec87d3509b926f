"""``cacwatch export`` as an integration surface (issue 14 §4) and without formula injection
(issue 10 #5): filters, changes as records, removed filings marked, XLSX for readers."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import docx
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.app.cli import app
from bot.changes.export import CHANGE_COLUMNS, FILING_COLUMNS
from scrapers.replica.server import ReplicaServer

runner = CliRunner()
DS_2023_08 = "/cms/pub/interact/downloadfile.jsp?filepath=TzOJPaVXUHMAhO249hx0J~6EottDer5~/T9YkWqie/FPM4k9pVdQcwCE7bj2HHQn7oSi20N6vn79P1iR"
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def _rows(replica: ReplicaServer) -> tuple[docx.document.Document, list[str], list]:  # type: ignore[name-defined]
    document = docx.Document(io.BytesIO(replica.read(DS_2023_08)))
    table = document.tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    return document, header, list(table.rows[1:])


def _save(replica: ReplicaServer, document) -> None:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    document.save(out)
    replica.replace_file(DS_2023_08, out.getvalue())


@pytest.fixture
def config(tmp_path: Path, replica: ReplicaServer) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"database:\n  url: 'sqlite:///{tmp_path}/db.sqlite'\ndata_dir: '{tmp_path}/data'\n"
        f"sources:\n  cac:\n    base_url: '{replica.base_url}'\n    beian_url: '{replica.beian_url}'\n    min_delay: 0\n"
        # Every check re-reads every list: these tests re-issue lists in place (cron tiers: test_cron_tiers.py).
        "    revalidate_interval: 0\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["check", "--once", "--config", str(config_path := path)])
    assert result.exit_code == 0, result.output
    return config_path


def _jsonl(config: Path, *args: str) -> list[dict]:
    result = runner.invoke(app, ["export", "--config", str(config), *args])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_changes_removed_and_filters(config: Path, replica: ReplicaServer) -> None:
    before = {r["filing_number"]: r for r in _jsonl(config)}
    assert all(set(r) == set(FILING_COLUMNS) and r["removed"] is False and r["first_seen"] for r in before.values())
    document, header, rows = _rows(replica)
    number_col, remark_col, entity_col = header.index("备案编号"), header.index("备注"), header.index("主体名称")
    gone = rows[0].cells[number_col].text.strip()
    rows[0]._tr.getparent().remove(rows[0]._tr)  # a filing leaves the list
    edited = rows[1].cells[number_col].text.strip()
    old_remark = rows[1].cells[remark_col].text.strip()
    rows[1].cells[remark_col].text = "导出测试备注"
    filer = rows[2].cells[entity_col].text.strip()
    _save(replica, document)
    mid = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert runner.invoke(app, ["check", "--once", "--config", str(config)]).exit_code == 0

    current = {r["filing_number"]: r for r in _jsonl(config)}
    assert gone not in current  # a removed filing never looks current
    (removed,) = [r for r in _jsonl(config, "--include-removed") if r["filing_number"] == gone]
    assert removed["removed"] is True
    assert current[edited]["updated_at"] >= mid.isoformat(timespec="seconds")

    changes = _jsonl(config, "--changes", "--since", mid.date().isoformat())
    assert all(set(r) == set(CHANGE_COLUMNS) for r in changes)
    by_number = {r["filing_number"]: r for r in changes if r["updated_at"] >= mid.isoformat(timespec="seconds")}
    assert by_number[gone]["change"] == "removed" and by_number[gone]["removed"] is True
    assert by_number[edited]["change"] == "changed"
    assert by_number[edited]["changes"]["remark"] == [old_remark, "导出测试备注"]
    assert by_number[edited]["list"]  # the list whose version caused it
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert _jsonl(config, "--changes", "--since", tomorrow) == []
    assert _jsonl(config, "--since", tomorrow) == []
    assert len(_jsonl(config, "--since", mid.isoformat())) >= 1

    # --entity: part of the Chinese name, or the English name cacwatch shows; --query: any text field.
    mine = {n for n, r in current.items() if r["entity"] == filer}
    assert {r["filing_number"] for r in _jsonl(config, "--entity", filer[2:8])} >= mine
    english = current[next(iter(mine))]["entity_en"]
    assert english and {r["filing_number"] for r in _jsonl(config, "--entity", english.upper())} >= mine
    assert {r["filing_number"] for r in _jsonl(config, "--query", edited.lower())} == {edited}
    assert _jsonl(config, "--query", "没有这样的文字xyz") == []
    # A company group by either of its names: the same filings (ByteDance files as 北京抖音…).
    from bot.changes.companies import big_tech_group

    group_zh = _jsonl(config, "--entity", "字节跳动")
    assert group_zh and {r["filing_number"] for r in group_zh} == {r["filing_number"] for r in _jsonl(config, "--entity", "ByteDance")}
    assert all(getattr(big_tech_group(r["entity"]), "en", None) == "ByteDance" for r in group_zh)
    assert any(r["entity"] == "北京抖音信息服务有限公司" for r in group_zh)

    bad = runner.invoke(app, ["export", "--config", str(config), "--since", "last week"])
    assert bad.exit_code == 2 and "--since" in bad.stderr and bad.stderr.count("\n") == 1


def test_no_cell_becomes_a_formula(config: Path, replica: ReplicaServer, tmp_path: Path) -> None:
    document, header, rows = _rows(replica)
    name_col, number_col = header.index(next(h for h in header if "名称" in h and "主体" not in h)), header.index("备案编号")
    numbers = []
    for row, text in zip(rows, HOSTILE):
        row.cells[name_col].text = text
        numbers.append(row.cells[number_col].text.strip())
    _save(replica, document)
    assert runner.invoke(app, ["check", "--once", "--config", str(config)]).exit_code == 0

    result = runner.invoke(app, ["export", "--config", str(config), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    table = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"), newline="")))
    assert table[0] == list(FILING_COLUMNS)
    names = {row[FILING_COLUMNS.index("filing_number")]: row[FILING_COLUMNS.index("name")] for row in table[1:]}
    for number, text in zip(numbers, HOSTILE):
        stored = names[number]
        assert stored == "'" + text  # Excel's text apostrophe
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in table[1:] for cell in row)

    out = tmp_path / "filings.xlsx"
    assert runner.invoke(app, ["export", "--config", str(config), "-f", "xlsx", "-o", str(out)]).exit_code == 0
    sheet = load_workbook(out)["filings"]
    col = {name: index + 1 for index, name in enumerate(FILING_COLUMNS)}
    found = 0
    for row in sheet.iter_rows(min_row=2):
        cell = row[col["name"] - 1]
        assert cell.data_type != "f"  # never a live formula
        if row[col["filing_number"] - 1].value in numbers:
            found += 1
            assert cell.data_type == "s" and cell.quotePrefix
    assert found == len(HOSTILE)


def test_xlsx_is_laid_out_for_readers(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "changes.xlsx"
    result = runner.invoke(app, ["export", "--config", str(config), "--changes", "-f", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "changes written to" in result.stderr
    sheet = load_workbook(out)["filings"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[CHANGE_COLUMNS.index("filing_number")] == "备案编号\nFiling number"
    assert headers[CHANGE_COLUMNS.index("change")] == "变化\nChange"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=len(CHANGE_COLUMNS)).column_letter}{sheet.max_row}"
    assert sheet.column_dimensions["A"].width >= 10
    kinds = {row[CHANGE_COLUMNS.index("kind")].value for row in sheet.iter_rows(min_row=2)}
    assert "深度合成服务算法 Deep synthesis algorithms" in kinds
    changes = {row[0].value for row in sheet.iter_rows(min_row=2)}
    assert changes == {"新增 new"}  # the first poll: every filing created


@pytest.mark.parametrize("text", [*HOSTILE, "\tTAB", "\rCR"])
def test_one_rule_for_every_writer(text: str) -> None:
    """Leading tab and CR never survive normalisation from the site, but a writer must not rely
    on that: the rule itself covers all six starts, in CSV and XLSX alike."""
    from bot.changes.export import safe_cell, starts_formula, write_export

    assert starts_formula(text) and safe_cell(text) == "'" + text
    assert safe_cell("北京" + text) == "北京" + text  # only the start matters
    out = io.BytesIO()
    write_export([{"name": text, "products": [text]}], "xlsx", out)
    sheet = load_workbook(io.BytesIO(out.getvalue()))["filings"]
    cell = sheet.cell(row=2, column=FILING_COLUMNS.index("name") + 1)
    assert cell.data_type == "s" and cell.quotePrefix and cell.value == text


def test_group_and_foreign_options_and_the_english_columns(config: Path) -> None:
    """`--group` by key or either name, `--foreign`: the filers the resolver assigns; every
    record carries the English label columns and its group, derived from the one table."""
    from bot.changes.companies import ForeignFiler
    from bot.changes.resolver import company_of
    from bot.changes.vocabulary import value_label

    everything = _jsonl(config)
    for record in everything:
        company = company_of(record["entity"])
        assert (record["group"], record["group_en"]) == ((company.zh, company.en) if company else (None, None))
        assert record["role_en"] == value_label("role", record["role"])[1]
        assert record["category_en"] == value_label("category", record["category"])[1]
        assert record["registration_en"] in ("", "filed", "registered", "on-device")
    assert any(r["role_en"] == "service provider" for r in everything)
    bytedance = {r["filing_number"] for r in everything if getattr(company_of(r["entity"]), "key", None) == "bytedance"}
    assert bytedance
    for name in ("bytedance", "字节跳动", "ByteDance", "抖音"):
        assert {r["filing_number"] for r in _jsonl(config, "--group", name)} == bytedance, name
    foreign = {r["filing_number"] for r in everything if isinstance(company_of(r["entity"]), ForeignFiler)}
    assert {r["filing_number"] for r in _jsonl(config, "--foreign")} == foreign
    assert _jsonl(config, "--group", "ByteDance", "--foreign") == []
    bad = runner.invoke(app, ["export", "--config", str(config), "--group", "Bytedancee"])
    assert bad.exit_code == 2 and "--group" in bad.stderr and "ByteDance" in bad.stderr  # did you mean
