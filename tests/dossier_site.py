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
from typing import Any

import docx

from web_helpers import Site, ingest, served_replica

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
    """The bundled replica served after a re-issue renamed one filer (see _reissue_with_rename)."""

    def rename(replica: Any, config: Path) -> None:
        _reissue_with_rename(replica, REC_2022_10)
        assert "1 revised" in ingest(config)

    with served_replica(url, tmp, then=rename) as site:
        yield site
