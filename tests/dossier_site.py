"""The bundled replica with one filer renamed by a re-issue, ingested and served (`cacwatch serve`).

Shared by tests/test_web_dossiers.py and tests/test_web_dossiers_browser.py: the replica is
ingested, then CAC re-issues the 2022-10 recommendation list in place with one filing's 主体名称
changed and the remark 原主体名称“X”变更为“Y”, as tests/test_pipeline.py's re-issue test does, and
ingested again; the other lists keep the old name.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx

from web_helpers import Site, export_records, ingest, running_server, write_config

REC_2022_10 = "/cms/pub/interact/downloadfile.jsp?filepath=DY7~KEXOOdaogwnGtUO1oioB2ay3IPwCfj~9udOlxp0Njv4oRc451qiDCca1Q7WiKgHZrLcg/AJ~P725"
RENAMED_NUMBER = "网信算备110108224236601220025号"
OLD_NAME = "北京三快科技有限公司"
NEW_NAME = "北京新石榴科技有限公司"

__all__ = ["REC_2022_10", "RENAMED_NUMBER", "OLD_NAME", "NEW_NAME", "renamed_replica"]


def _reissue_with_rename(replica: "object", key: str) -> None:
    document = docx.Document(io.BytesIO(replica.read(key)))  # type: ignore[attr-defined]
    table = document.tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    column = {name: header.index(name) for name in header}
    renamed = 0
    for row in table.rows[1:]:
        cells = row.cells
        if cells[column["备案编号"]].text.strip() == RENAMED_NUMBER:
            assert cells[column["主体名称"]].text.strip() == OLD_NAME
            cells[column["主体名称"]].text = NEW_NAME
            cells[column["备注"]].text = f"原主体名称“{OLD_NAME}”变更为“{NEW_NAME}”"
            renamed += 1
    assert renamed == 1
    out = io.BytesIO()
    document.save(out)
    replica.replace_file(key, out.getvalue())  # type: ignore[attr-defined]


@contextmanager
def renamed_replica(url: str, tmp: Path) -> Iterator[Site]:
    from bot.app.config import settings_from_mapping
    from scrapers.replica.server import ReplicaServer

    with ReplicaServer() as replica:
        settings = settings_from_mapping(
            {
                "database": {"url": url},
                "data_dir": str(tmp / "data"),
                # revalidate_interval 0: the second run re-checks the re-issued attachment at once.
                "sources": {"cac": {"base_url": replica.base_url, "beian_url": replica.beian_url, "min_delay": 0, "timeout": 5,
                                    "retries": 1, "revalidate_interval": 0}},
            },
            env={},
        )
        config = write_config(tmp / "config.yaml", settings)
        ingest(config)
        _reissue_with_rename(replica, REC_2022_10)
        assert "1 revised" in ingest(config)
    records = export_records(config)
    serve_config = write_config(tmp / "serve.yaml", settings_from_mapping({"database": {"url": url}}, env={}))
    with running_server(serve_config) as base:
        site = Site(base, config, records)
        try:
            yield site
        finally:
            site.client.close()
