"""The one company resolver, measured on the bundled replica's filers (ingested by the pipeline).

The replica has no HP filer: two rows of one list are re-issued under HP's Chinese
subsidiaries, and two under look-alikes that are not HP (优惠普, 普惠), before the first poll.
Which filer belongs to which group is labelled by hand below (GROUPS), not by the resolver.
For every query of the table — Chinese group names, English names, brands — the watch matcher
and ``/search`` are scored against those labels, filing by filing: precision and recall.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from conftest import fresh_postgres_schema
from fake_telegram import FakeTelegram
from test_telegram_bot import USER, running_bot, send, text_of
from typer.testing import CliRunner

from bot.app.cli import app
from bot.settings.config import settings_from_mapping
from bot.changes.findings import findings_for_list
from bot.changes.resolver import company_of, company_words, resolve, suggest
from bot.changes.watchlist import Watchlist
from bot.delivery.email.subscribers import Subscriber, narrow_event
from bot.delivery.telegram import queries
from scrapers.replica.server import ReplicaServer
from storage import telegram_repo
from storage.db import Database

DS_2023_08 = "/cms/pub/interact/downloadfile.jsp?filepath=TzOJPaVXUHMAhO249hx0J~6EottDer5~/T9YkWqie/FPM4k9pVdQcwCE7bj2HHQn7oSi20N6vn79P1iR"
# Rows of that list (by 序号) re-issued under another filer before the first poll.
RENAMED_ROWS = {
    "5": "惠普贸易（上海）有限公司",
    "6": "中国惠普有限公司",
    "12": "上海优惠普信息科技有限公司",  # not HP: 优惠普
    "13": "深圳市普惠金融科技有限公司",  # not HP: 普惠
}

# Ground truth: the hand labels of every filer of the sample (tests/data/company_labels.tsv, see
# docs/companies.md), not the resolver; plus the HP rows above.
LABELS_FILE = Path(__file__).parent / "data" / "company_labels.tsv"
_LABELLED = [
    line.split("\t") for line in LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")
]
SAMPLE_FILERS = {row[0] for row in _LABELLED if row[3] == "sample"}
GROUPS: dict[str, set[str]] = {
    group: {row[0] for row in _LABELLED if row[3] == "sample" and row[1] == group}
    for group in ("bytedance", "tencent", "alibaba", "baidu")
}
GROUPS["hp"] = {"惠普贸易（上海）有限公司", "中国惠普有限公司"}
QUERIES: dict[str, tuple[str, ...]] = {
    "bytedance": ("字节跳动", "ByteDance", "抖音", "Douyin", "今日头条"),
    "tencent": ("腾讯", "Tencent", "微信"),
    "alibaba": ("阿里巴巴", "Alibaba", "淘宝", "天猫", "支付宝"),
    "baidu": ("百度", "Baidu"),
    "hp": ("HP", "惠普"),
}
TABLE = [(group, query) for group, queries_ in QUERIES.items() for query in queries_]

runner = CliRunner()


def _reissue(replica: ReplicaServer) -> None:
    document = docx.Document(io.BytesIO(replica.read(DS_2023_08)))
    table = document.tables[0]
    header = [cell.text.strip() for cell in table.rows[0].cells]
    number, entity = header.index("序号"), header.index("主体名称")
    done = set()
    for row in table.rows[1:]:
        cells = row.cells
        if cells[number].text.strip() in RENAMED_ROWS:
            cells[entity].text = RENAMED_ROWS[cells[number].text.strip()]
            done.add(cells[number].text.strip())
    assert done == set(RENAMED_ROWS)
    out = io.BytesIO()
    document.save(out)
    replica.replace_file(DS_2023_08, out.getvalue())


class Store:
    def __init__(self, url: str, records: list[dict[str, Any]]) -> None:
        self.url = url
        self.records = records
        self.db = Database(url)

    def filings(self, predicate: Any) -> set[tuple[str, str]]:
        return {(r["kind"], r["filing_number"]) for r in self.records if predicate(r)}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The replica (with the HP rows) polled once by ``cacwatch check --once``, then exported."""
    tmp = tmp_path_factory.mktemp("resolver")
    with ReplicaServer() as replica:
        _reissue(replica)
        with fresh_postgres_schema() if request.param == "postgres" else _sqlite(tmp) as url:
            settings = settings_from_mapping(
                {
                    "database": {"url": url},
                    "data_dir": str(tmp / "data"),
                    "sources": {"cac": {"base_url": replica.base_url, "beian_url": replica.beian_url,
                                        "min_delay": 0, "timeout": 5, "retries": 1}},
                },
                env={},
            )
            config = tmp / "config.yaml"
            config.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
            result = runner.invoke(app, ["--config", str(config), "check", "--once"])
            assert result.exit_code == 0, result.output
            exported = runner.invoke(app, ["--config", str(config), "export", "--format", "jsonl"])
            assert exported.exit_code == 0, exported.output
            records = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
            found = Store(url, records)
            try:
                yield found
            finally:
                found.db.dispose()


class _sqlite:
    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite:///{tmp / 'cacwatch.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None


def _scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall


def test_every_filer_of_the_replica_is_labelled(store: Store) -> None:
    entities = {r["entity"] for r in store.records if r["entity"]}
    assert entities <= SAMPLE_FILERS | set(RENAMED_ROWS.values()), entities - SAMPLE_FILERS
    for group, names in GROUPS.items():
        assert names & entities, group  # each group has filings to score


@pytest.mark.parametrize(("group", "query"), TABLE)
def test_watch_precision_and_recall(store: Store, group: str, query: str) -> None:
    truth = store.filings(lambda r: r["entity"] in GROUPS[group])
    watchlist = Watchlist([query])
    found = store.filings(lambda r: bool(watchlist.match(r["entity"])))
    precision, recall = _scores(found, truth)
    print(f"watch {query!r}: {len(found)} filings, precision {precision:.3f}, recall {recall:.3f}")
    assert (precision, recall) == (1.0, 1.0), sorted({r["entity"] for r in store.records
                                                       if (r["kind"], r["filing_number"]) in found ^ truth})


@pytest.mark.parametrize("group", list(QUERIES))
def test_search_finds_the_same_filings_in_every_language(store: Store, group: str) -> None:
    truth = store.filings(lambda r: r["entity"] in GROUPS[group])
    results: dict[str, set[tuple[str, str]]] = {}
    with store.db.session() as session:
        for query in QUERIES[group]:
            page = queries.search_filings(session, query, page_size=0)
            results[query] = {(r["kind"], r["filing_number"]) for r in page.records}
            assert page.total == len(results[query])
    for query, found in results.items():
        precision, recall = _scores(found, truth)
        print(f"/search {query!r}: {len(found)} filings, precision {precision:.3f}, recall {recall:.3f}")
        assert recall == 1.0, (query, truth - found)
        # /search also matches text (a product named 抖音小程序 by another filer): those are the
        # only extra filings, and they contain the query as written.
        for kind, number in found - truth:
            record = next(r for r in store.records if (r["kind"], r["filing_number"]) == (kind, number))
            assert query.lower() in json.dumps(record, ensure_ascii=False).lower(), (query, record["entity"])
    # The group's Chinese and English names find exactly the same filings (腾讯 = Tencent).
    names = QUERIES[group][:2]
    assert results[names[0]] == results[names[1]], names


def test_search_and_watch_agree_with_the_findings_big_tech_line(store: Store) -> None:
    new = [r for r in store.records if r["kind"] == "deep_synthesis"]
    findings = findings_for_list(kind="deep_synthesis", list_month="2024-01", rows=new, new=new, changed=[], sizes=[])
    groups = {g["group_zh"]: g["count"] for f in findings if f["type"] == "big_tech" for g in f["data"]["groups"]}
    for zh in ("字节跳动", "腾讯", "百度"):
        watchlist = Watchlist([zh])
        assert groups.get(zh, 0) == sum(1 for r in new if watchlist.match(r["entity"])), zh


def test_email_watchlist_filter_uses_the_resolver(store: Store) -> None:
    douyin = [r for r in store.records if r["entity"] == "北京抖音信息服务有限公司"][:3]
    others = [r for r in store.records if company_of(r["entity"]) is None][:3]
    event = {"id": "evt_1", "type": "list.published", "timestamp": "2026-01-01T00:00:00Z",
             "data": {"kind": "deep_synthesis", "list_month": "2026-01", "title": "", "name": "清单", "batch": None,
                      "page_url": "", "attachment_url": "", "counts": {"new": 6, "changed": 0, "removed": 0},
                      "new": douyin + others, "changed": [], "removed": [], "notable": []}}
    assert narrow_event(event, Subscriber(address="a@example.com", watchlist=("字节跳动",))) is not None
    assert narrow_event(event, Subscriber(address="a@example.com", watchlist=("ByteDance",))) is not None
    assert narrow_event(event, Subscriber(address="a@example.com", watchlist=("腾讯",))) is None


@pytest.mark.parametrize(
    ("words", "entity", "key"),
    [
        # The 2026-08 on-device list's seven phone makers, by the names their filers use.
        (("Apple", "苹果", "apple", "ＡＰＰＬＥ", "苹果公司"), "苹果技术开发（上海）有限公司", "apple"),
        (("Samsung", "三星"), "北京三星通信技术研究有限公司", "samsung"),
        (("Huawei", "华为"), "华为终端有限公司", "huawei"),
        (("Xiaomi", "小米"), "美卓软件设计（北京）有限公司", "xiaomi"),
        (("Honor", "荣耀"), "荣耀终端股份有限公司", "honor"),
        (("OPPO", "oppo"), "OPPO广东移动通信有限公司", "oppo"),
        (("vivo", "维沃"), "维沃移动通信有限公司", "vivo"),
        (("字节跳动", "ByteDance", "抖音"), "北京字跳网络技术有限公司", "bytedance"),
        (("IKEA", "宜家"), "宜家电子商务（中国）有限公司", "ikea"),
        (("Amway", "安利"), "安利（中国）日用品有限公司", "amway"),
        (("Volkswagen", "大众", "VW"), "一汽-大众汽车有限公司", "volkswagen"),
        (("KFC", "肯德基", "Yum"), "北京肯德基有限公司", "yum"),
    ],
)
def test_one_resolver_names_the_phone_makers_and_foreign_brands(words: tuple[str, ...], entity: str, key: str) -> None:
    company = company_of(entity)
    assert company is not None and company.key == key
    for word in words:
        assert [c.key for c in resolve(word)] == [key], word
    assert company.en in company_words(entity) and company.zh in company_words(entity)


def test_look_alikes_have_no_company() -> None:
    for entity in ("上海苹果树教育科技有限公司", "上海汉涛信息咨询有限公司", "天津三星电子商务有限公司", "高通量测序科技有限公司"):
        assert getattr(company_of(entity), "key", None) in (None, "meituan"), entity
    assert company_of("上海汉涛信息咨询有限公司").key == "meituan"  # 大众点评 is Meituan's, not Volkswagen


def test_resolve_and_suggest() -> None:
    assert [c.key for c in resolve("Ｂｙｔｅ Ｄａｎｃｅ")] == ["bytedance"]  # width, case and spaces
    assert resolve("支付") == () and resolve("中国") == ()  # containment is not a name
    assert [c.key for c in suggest("Bytedanse")][:1] == ["bytedance"]
    assert [c.key for c in suggest("阿里爸爸")][:1] == ["alibaba"]
    assert suggest("") == [] and suggest("qqqqzzzz") == []


# --- the same words through the Telegram bot (tests/fake_telegram.py) ---------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def _count(text: str) -> int:
    match = re.search(r"共 (\d+) 项", text)
    return int(match.group(1)) if match else 0


async def test_bot_search_and_watch_use_the_resolver(store: Store, fake: FakeTelegram) -> None:
    bytedance = len(store.filings(lambda r: r["entity"] in GROUPS["bytedance"]))
    tencent = len(store.filings(lambda r: r["entity"] in GROUPS["tencent"]))
    async with running_bot(fake, store.db):
        assert _count(text_of(await send(fake, "/search 腾讯"))) == tencent
        assert _count(text_of(await send(fake, "/search Tencent"))) == tencent
        assert _count(text_of(await send(fake, "/search 字节跳动"))) == bytedance
        assert _count(text_of(await send(fake, "/search ByteDance"))) == bytedance

        watched = text_of(await send(fake, "/watch 字节跳动"))
        assert f"{bytedance} filings match today" in watched and "did you mean" not in watched
        english = text_of(await send(fake, "/watch ByteDance"))
        assert f"{bytedance} filings match today" in english

        # Nothing matches: the nearest groups are suggested.
        typo = text_of(await send(fake, "/watch Bytedanse"))
        assert "0 filings match today" in typo and "did you mean" in typo and "字节跳动 ByteDance" in typo
        nothing = text_of(await send(fake, "/search 阿里爸爸"))
        assert "no results" in nothing and "阿里巴巴 Alibaba" in nothing

        # An invalid pattern is refused when added, and not stored.
        refused = text_of(await send(fake, "/watch re:["))
        assert "cannot add" in refused and "invalid regular expression" in refused
        # A hostile one is answered (RE2: linear time), however long the names.
        hostile = text_of(await send(fake, "/watch re:(.|.)*!"))
        assert "filings match today" in hostile
    with store.db.session() as session:
        watches = telegram_repo.watches_of(session, USER)
        telegram_repo.remove_watches(session, USER)
    assert "re:[" not in watches and "字节跳动" in watches and "re:(.|.)*!" in watches
    assert not fake.rejected
