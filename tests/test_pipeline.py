"""End to end: `cacwatch check --once` against the local replica, then `cacwatch export`.

Runs on SQLite and PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from typer.testing import CliRunner

from bot.app.cli import app
from scrapers.replica.server import ReplicaServer
from storage.db import Database
from storage.models import FilingChange, ListVersion
from storage.repo import Repository

DATA = Path(__file__).parent / "data"
DS_2023_08 = "/cms/pub/interact/downloadfile.jsp?filepath=TzOJPaVXUHMAhO249hx0J~6EottDer5~/T9YkWqie/FPM4k9pVdQcwCE7bj2HHQn7oSi20N6vn79P1iR"
REC_2022_10 = "/cms/pub/interact/downloadfile.jsp?filepath=DY7~KEXOOdaogwnGtUO1oioB2ay3IPwCfj~9udOlxp0Njv4oRc451qiDCca1Q7WiKgHZrLcg/AJ~P725"

runner = CliRunner()


def _norm(value: Any) -> Any:
    """interfaces.md: text compared after NFKC with whitespace next to CJK characters ignored."""
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value)
        return re.sub(r"\s*([\u3000-\u9fff\uff00-\uffef])\s*", r"\1", value).strip()
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def _expected() -> dict[tuple[str, str], dict[str, Any]]:
    records = (json.loads(line) for line in (DATA / "expected.jsonl").read_text(encoding="utf-8").splitlines())
    return {(r["kind"], r["filing_number"]): r for r in records}


def _write_config(tmp_path: Path, settings: Any) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


def _cli(config: Path, *args: str) -> Any:
    return runner.invoke(app, ["--config", str(config), *args])


def _export(config: Path, *args: str) -> dict[tuple[str, str], dict[str, Any]]:
    result = _cli(config, "export", "--format", "jsonl", *args)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {(r["kind"], r["filing_number"]): r for r in records}


def _field_mismatches(expected: dict, got: dict) -> list[str]:
    problems = []
    for key, record in expected.items():
        if key not in got:
            problems.append(f"missing {key}")
            continue
        for name, value in record.items():
            if _norm(got[key].get(name)) != _norm(value):
                problems.append(f"{key[1]}.{name}: expected {value!r}, got {got[key].get(name)!r}")
    problems += [f"invented {key}" for key in got if key not in expected]
    return problems


@pytest.fixture
def config(tmp_path: Path, replica: ReplicaServer, database_url: str, make_settings) -> Path:
    return _write_config(tmp_path, make_settings(replica, database_url))


def _reissue(replica: ReplicaServer, key: str, edits: dict[str, dict[str, str]]) -> None:
    """Re-issue an attachment in place: same URL, rows edited by filing number and header."""
    document = docx.Document(io.BytesIO(replica.read(key)))
    table = document.tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    column = {name: header.index(name) for name in header}
    applied = set()
    for row in table.rows[1:]:
        cells = row.cells
        number = cells[column["备案编号"]].text.strip()
        for field, text in edits.get(number, {}).items():
            cells[column[field]].text = text
            applied.add(number)
    assert applied == set(edits), "the edited filings must be in that list"
    out = io.BytesIO()
    document.save(out)
    replica.replace_file(key, out.getvalue())


def test_full_ingest_matches_expected_export(config: Path) -> None:
    result = _cli(config, "check", "--once")
    assert result.exit_code == 0, result.output
    assert "9 lists checked, 9 new" in result.stdout
    problems = _field_mismatches(_expected(), _export(config))
    assert problems == []


def test_idle_poll_downloads_no_attachment_again(config: Path, replica: ReplicaServer) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    replica.reset_log()
    result = _cli(config, "check", "--once")
    assert result.exit_code == 0, result.output
    assert "0 new, 0 revised, 9 unchanged" in result.stdout
    downloads = [r for r in replica.requests if "downloadfile.jsp" in r.path]
    assert len(downloads) == 9  # every attachment re-checked…
    assert all(r.status == 304 for r in downloads)  # …and none downloaded


def test_reissue_in_place_updates_filings_and_keeps_history(
    config: Path, replica: ReplicaServer, database_url: str
) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    expected = _expected()
    before = _export(config)
    cancelled = "网信算备110108224236601220017号"
    renamed = "网信算备110108224236601220025号"
    assert before[("algorithm_recommendation", cancelled)]["status"] == "active"
    _reissue(
        replica,
        REC_2022_10,
        {cancelled: {"备注": "已注销"}, renamed: {"主体名称": "新名字科技有限公司", "备注": "原主体名称“旧”变更为“新名字科技有限公司”"}},
    )
    result = _cli(config, "check", "--once")
    assert result.exit_code == 0, result.output
    assert "1 revised" in result.stdout
    after = _export(config)
    assert after[("algorithm_recommendation", cancelled)]["status"] == "cancelled"
    assert after[("algorithm_recommendation", cancelled)]["remark"] == "已注销"
    assert after[("algorithm_recommendation", renamed)]["entity"] == "新名字科技有限公司"
    # Nothing else moved, nothing was lost or invented.
    unchanged = {k: v for k, v in expected.items() if k[1] not in (cancelled, renamed) or k[0] != "algorithm_recommendation"}
    assert _field_mismatches(unchanged, {k: v for k, v in after.items() if k in unchanged}) == []
    assert len(after) == len(before)

    db = Database(database_url)
    with db.session() as session:
        changes = {c.change_type for c in session.query(FilingChange).filter(FilingChange.change_type != "created")}
        versions = session.query(ListVersion).count()
    db.dispose()
    assert changes == {"cancelled", "renamed"}
    assert versions == 10  # 9 lists + the re-issued version


def test_same_rows_in_new_bytes_is_not_a_revision(config: Path, replica: ReplicaServer) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    _reissue(replica, DS_2023_08, {})  # re-saved by Word: new bytes, same rows
    result = _cli(config, "check", "--once")
    assert result.exit_code == 0, result.output
    assert "0 revised" in result.stdout


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"PK\x03\x04" + b"\x00" * 40, "unparseable list"),
        (b"%PDF-1.4\n%broken", "unparseable list"),
        ("<html><body><p>系统维护中</p></body></html>".encode(), "html page served instead of the attachment"),
        ("<html><body><table><tr><td>通知</td><td>内容</td></tr></table></body></html>".encode(), "unparseable list"),
    ],
    ids=["truncated-docx", "corrupt-pdf", "html-instead-of-file", "html-table-without-known-headers"],
)
def test_broken_attachment_is_reported_and_loses_nothing(
    config: Path, replica: ReplicaServer, payload: bytes, reason: str
) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    before = _export(config)
    replica.replace_file(DS_2023_08, payload)
    result = _cli(config, "check", "--once")
    assert result.exit_code != 0
    assert "cac" in result.stderr and "2023年8月" in result.stderr
    assert reason in result.stderr.lower()
    assert _export(config) == before  # nothing deleted, nothing overwritten with less


def test_broken_list_on_first_run_still_ingests_the_others(config: Path, replica: ReplicaServer) -> None:
    replica.replace_file(DS_2023_08, b"PK\x03\x04garbage")
    result = _cli(config, "check", "--once")
    assert result.exit_code == 1
    got = _export(config)
    expected = {k: v for k, v in _expected().items() if not (k[0] == "deep_synthesis" and v["list_month"] == "2023-08")}
    # Filings first listed in 2023-08 may still come from a later list; compare the rest exactly.
    assert all(key in got for key in expected)
    # Once the list is fixed it is picked up, although its page was already known.
    replica.replace_file(DS_2023_08, (Path(__file__).parents[1] / "scrapers/replica/site/files/42923df98168dea528aeb2ae4c614787e391d9d6").read_bytes())
    result = _cli(config, "check", "--once")
    assert result.exit_code == 0, result.output
    assert _field_mismatches(_expected(), _export(config)) == []


@pytest.mark.parametrize("mode", ["waf", "http500"])
def test_blocked_site_fails_loudly_and_changes_nothing(config: Path, replica: ReplicaServer, mode: str) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    before = _export(config)
    if mode == "waf":
        replica.waf = True
    else:
        replica.fail_status = 500
    result = _cli(config, "check", "--once")
    assert result.exit_code != 0
    assert result.stderr.startswith("cacwatch: source cac:")
    assert ("blocked" if mode == "waf" else "500") in result.stderr.lower()
    replica.waf, replica.fail_status = False, None
    assert _export(config) == before


def test_blocked_first_poll_stores_nothing(config: Path, replica: ReplicaServer) -> None:
    replica.waf = True
    result = _cli(config, "check", "--once")
    assert result.exit_code != 0
    assert _export(config) == {}


def test_export_formats(config: Path, tmp_path: Path) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    csv_path, xlsx_path = tmp_path / "f.csv", tmp_path / "f.xlsx"
    assert _cli(config, "export", "--format", "csv", "--kind", "genai_service", "--output", str(csv_path)).exit_code == 0
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Chinese correctly
    assert len(raw.decode("utf-8-sig").strip().splitlines()) == 1 + 312
    assert _cli(config, "export", "--format", "xlsx", "--output", str(xlsx_path)).exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx_path, read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 1 + 815


def test_stats_lists_every_list(config: Path) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    result = _cli(config, "stats")
    assert result.exit_code == 0
    assert "境内深度合成服务算法备案清单" in result.stdout and "779" not in result.stdout
    assert "312" in result.stdout  # GenAI rows in all (117 + 97 + 98)


def test_provenance_is_kept(config: Path, database_url: str) -> None:
    assert _cli(config, "check", "--once").exit_code == 0
    db = Database(database_url)
    with db.session() as session:
        repo = Repository(session)
        stats = repo.list_stats()
        version = session.query(ListVersion).first()
        assert version is not None and len(version.sha256) == 64
    db.dispose()
    assert sum(item["rows"] for item in stats) == 815
