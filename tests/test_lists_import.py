"""``cacwatch lists import FILE --kind K --month M``: a downloaded list through the same parse,
limits and events as a fetched one (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bot.app.cli import app
from scrapers.replica.server import ReplicaServer
from test_pipeline import DS_2023_08, REC_2022_10, _reissue
from webhook_receiver import Receiver

runner = CliRunner()
BATCH2_PAGE = "/2023-09/01/c_1695224377544009.htm"  # announces the 2023-08 deep-synthesis list (DS_2023_08)


def _cli(config: Path, *args: str) -> Any:
    return runner.invoke(app, ["--config", str(config), *args])


def _events(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.on("/hook")]


def test_a_list_the_site_no_longer_shows_is_imported_with_its_events(
    webhook_config: Path, replica: ReplicaServer, receiver: Receiver, tmp_path: Path
) -> None:
    replica.withhold(BATCH2_PAGE)  # the site "changed": polls cannot find the 2023-08 list
    assert _cli(webhook_config, "check", "--once").exit_code == 0
    downloaded = tmp_path / "附件：深度合成服务算法备案清单（2023年8月）.docx"
    downloaded.write_bytes(replica.read(DS_2023_08))
    before = len(receiver.received)

    result = _cli(webhook_config, "lists", "import", str(downloaded), "--kind", "deep_synthesis", "--month", "2023-08")
    assert result.exit_code == 0, result.output
    assert "as a new deep_synthesis 2023-08 list: 1 new, 0 revised" in result.stdout
    published = [e for e in _events(receiver)[before:] if e["type"] == "list.published"]
    assert len(published) == 1
    data = published[0]["data"]
    assert (data["kind"], data["list_month"], data["name"]) == ("deep_synthesis", "2023-08", downloaded.name)
    assert data["counts"]["new"] > 10 and len(data["new"]) == data["counts"]["new"]
    exported = _cli(webhook_config, "export", "--format", "jsonl", "--kind", "deep_synthesis")
    months = {json.loads(line)["list_month"] for line in exported.stdout.splitlines()}
    assert "2023-08" in months

    # Importing it again: the same list, nothing new, no event.
    again = _cli(webhook_config, "lists", "import", str(downloaded), "--kind", "deep_synthesis", "--month", "2023-08")
    assert again.exit_code == 0 and "re-issue of the stored deep_synthesis 2023-08 list" in again.stdout
    assert "0 new, 0 revised, 1 unchanged; 0 events" in again.stdout


def test_an_imported_reissue_revises_the_stored_list(webhook_config: Path, replica: ReplicaServer, receiver: Receiver, tmp_path: Path) -> None:
    assert _cli(webhook_config, "check", "--once").exit_code == 0
    cancelled = "网信算备110108224236601220017号"
    _reissue(replica, REC_2022_10, {cancelled: {"备注": "已注销"}})
    downloaded = tmp_path / "rec-2022-10.docx"
    downloaded.write_bytes(replica.read(REC_2022_10))
    before = len(receiver.received)
    result = _cli(webhook_config, "lists", "import", str(downloaded), "--kind", "algorithm_recommendation", "--month", "2022-10")
    assert result.exit_code == 0, result.output
    assert "re-issue of the stored algorithm_recommendation 2022-10 list" in result.stdout and "1 revised" in result.stdout
    (revised,) = [e for e in _events(receiver)[before:] if e["type"] == "list.revised"]
    (change,) = revised["data"]["changed"]
    assert change["filing_number"] == cancelled and change["changes"]["status"] == ["active", "cancelled"]


def test_a_file_that_does_not_parse_is_one_line_and_stores_nothing(webhook_config: Path, tmp_path: Path) -> None:
    assert _cli(webhook_config, "check", "--once").exit_code == 0
    stats = _cli(webhook_config, "stats").stdout
    junk = tmp_path / "list.docx"
    junk.write_bytes(b"<html><body>\xe8\xaf\xb7\xe7\x99\xbb\xe5\xbd\x95 please log in</body></html>")
    result = _cli(webhook_config, "lists", "import", str(junk), "--kind", "genai_service", "--month", "2025-01")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert result.stderr.startswith("cacwatch: import: ") and "unparseable list" in result.stderr
    assert _cli(webhook_config, "stats").stdout == stats
    bad = _cli(webhook_config, "lists", "import", str(junk), "--kind", "genai_service", "--month", "2025-13")
    assert bad.exit_code == 2 and "expected YYYY-MM" in bad.stderr


def _rename_header(data: bytes, old: str, new: str) -> bytes:
    import io

    import docx

    document = docx.Document(io.BytesIO(data))
    cells = [c for c in document.tables[0].rows[0].cells if c.text.strip() == old]
    assert cells, f"no {old} header"
    for cell in cells:
        cell.text = new
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_header_aliases_map_a_renamed_column_in_the_parse_workers(
    webhook_config: Path, replica: ReplicaServer, tmp_path: Path, monkeypatch: Any
) -> None:
    import yaml

    from scrapers.header_aliases import ENV

    monkeypatch.setenv(ENV, "")  # restored after the test: the aliases live in the environment
    replica.withhold(BATCH2_PAGE)
    assert _cli(webhook_config, "check", "--once").exit_code == 0
    renamed = tmp_path / "ds-2023-08.docx"
    renamed.write_bytes(_rename_header(replica.read(DS_2023_08), "备案编号", "识别码"))
    args = ("lists", "import", str(renamed), "--kind", "deep_synthesis", "--month", "2023-08")
    refused = _cli(webhook_config, *args)
    assert refused.exit_code == 1 and "unparseable list" in refused.stderr and "headers not recognised" in refused.stderr

    raw = yaml.safe_load(webhook_config.read_text(encoding="utf-8"))
    assert raw.get("parse_workers", 1) >= 1  # parsed in a worker process: the alias must reach it
    raw["sources"]["cac"]["header_aliases"] = {"识别 码": "number"}  # spacing does not matter
    webhook_config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = _cli(webhook_config, *args)
    assert result.exit_code == 0, result.output
    assert "as a new deep_synthesis 2023-08 list: 1 new" in result.stdout

    raw["sources"]["cac"]["header_aliases"] = {"识 别 码": "numero"}
    webhook_config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    bad = _cli(webhook_config, "stats")
    assert bad.exit_code == 2 and "sources.cac.header_aliases" in bad.stderr and "unknown column 'numero'" in bad.stderr
