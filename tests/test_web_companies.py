"""Foreign filers through the read side: `cacwatch serve` over a store the pipeline filled.

One deep-synthesis list of the replica is re-issued before the first poll with two rows under
Apple's China entity as it really files (苹果技术开发（上海）有限公司, the filer of Apple's on-device
GenAI model) and one under a domestic look-alike (上海苹果树教育科技有限公司). Then `GET
/api/v1/filings?q=Apple` and `?q=苹果` must find Apple's filings, the filer pages must give the
English name Apple uses, and the look-alike must never pass for Apple. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import docx
import httpx
import pytest
from conftest import fresh_postgres_schema

from scrapers.replica.server import ReplicaServer

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from web_helpers import export_records, ingest, record_key, running_server, write_config
except ImportError:  # pragma: no cover
    from tests.web_helpers import export_records, ingest, record_key, running_server, write_config

APPLE = "苹果技术开发（上海）有限公司"
APPLE_EN = "Apple Technology Development (Shanghai) Co., Ltd."
LOOK_ALIKE = "上海苹果树教育科技有限公司"
DS_2023_08 = "/cms/pub/interact/downloadfile.jsp?filepath=TzOJPaVXUHMAhO249hx0J~6EottDer5~/T9YkWqie/FPM4k9pVdQcwCE7bj2HHQn7oSi20N6vn79P1iR"
RENAMED_ROWS = {"3": APPLE, "4": APPLE, "7": LOOK_ALIKE}  # by 序号


def _reissue(replica: ReplicaServer) -> None:
    document = docx.Document(io.BytesIO(replica.read(DS_2023_08)))
    table = document.tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    number, entity, filing = header.index("序号"), header.index("主体名称"), header.index("备案编号")
    # Each filer's numbers carry its own filer id (the 7 digits after the region code, which tie
    # a filer's names together): the rows given to another filer get that filer's id too.
    filer_ids = {APPLE: "9900001", LOOK_ALIKE: "9900002"}
    done = set()
    for row in table.rows[1:]:
        cells = row.cells
        key = cells[number].text.strip()
        if key in RENAMED_ROWS:
            cells[entity].text = RENAMED_ROWS[key]
            old = cells[filing].text.strip()
            assert old.startswith("网信算备") and len(old) == len("网信算备") + 21 + 1, old
            cells[filing].text = old[:10] + filer_ids[RENAMED_ROWS[key]] + old[17:]
            done.add(key)
    assert done == set(RENAMED_ROWS)
    out = io.BytesIO()
    document.save(out)
    replica.replace_file(DS_2023_08, out.getvalue())


class Served:
    def __init__(self, client: httpx.Client, records: list[dict[str, Any]]) -> None:
        self.client = client
        self.records = records

    def json(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params or None)
        assert response.status_code == 200, (path, params, response.text[:300])
        return response.json()

    def search(self, q: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"q": q, "limit": 200}
        while True:
            page = self.json("/api/v1/filings", **params)
            items += page["items"]
            if page["next_cursor"] is None:
                return items
            params["cursor"] = page["next_cursor"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from bot.settings.config import settings_from_mapping

    tmp = tmp_path_factory.mktemp("web_companies")
    with ReplicaServer() as replica:
        _reissue(replica)
        with fresh_postgres_schema() if request.param == "postgres" else _Sqlite(tmp) as url:
            settings = settings_from_mapping(
                {
                    "database": {"url": url},
                    "data_dir": str(tmp / "data"),
                    "sources": {"cac": {"base_url": replica.base_url, "beian_url": replica.beian_url,
                                        "min_delay": 0, "timeout": 5, "retries": 1}},
                },
                env={},
            )
            config = write_config(tmp / "config.yaml", settings)
            ingest(config)
            records = export_records(config)
            serve_config = write_config(tmp / "serve.yaml", settings_from_mapping({"database": {"url": url}}, env={}))
            with running_server(serve_config) as base, httpx.Client(base_url=base, timeout=30) as client:
                yield Served(client, records)


class _Sqlite:
    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite:///{tmp / 'cacwatch.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_store_holds_apples_filings(served: Served) -> None:
    assert sum(r["entity"] == APPLE for r in served.records) == 2
    assert sum(r["entity"] == LOOK_ALIKE for r in served.records) == 1


@pytest.mark.parametrize("q", ["Apple", "apple", "苹果", "ＡＰＰＬＥ"])
def test_apple_in_either_language_finds_its_filings(served: Served, q: str) -> None:
    found = served.search(q)
    expected = {record_key(r) for r in served.records if r["entity"] == APPLE}
    assert expected <= {record_key(r) for r in found}
    for record in found:
        if record["entity"] != APPLE:
            # Only text matches besides Apple's filer: the query as written (苹果 in 苹果树), never a
            # look-alike passed off as Apple by its company.
            assert q in "\n".join([record["entity"], record["name"], record["purpose"], *record["products"]]), record


def test_the_look_alike_is_not_apple(served: Served) -> None:
    assert LOOK_ALIKE not in {r["entity"] for r in served.search("Apple")}
    detail = served.json(f"/api/v1/entities/{quote(LOOK_ALIKE)}")
    assert detail["company"] is None and "Apple" not in detail["entity_en"]


def test_filer_page_and_api_give_apples_english_name(served: Served) -> None:
    detail = served.json(f"/api/v1/entities/{quote(APPLE)}")
    assert detail["entity_en"] == APPLE_EN and detail["company"] == "Apple"
    assert sorted(record_key(f) for f in detail["filings"]) == sorted(record_key(r) for r in served.records if r["entity"] == APPLE)
    page = served.client.get(f"/entities/{quote(APPLE)}")
    assert page.status_code == 200
    assert APPLE_EN in page.text and APPLE in page.text and "Pingguo" not in page.text
    # The filer list answers the English name too.
    entries = served.json("/api/v1/entities", q="Apple")["items"]
    assert [e["entity_en"] for e in entries if e["entity"] == APPLE] == [APPLE_EN]
