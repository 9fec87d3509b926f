"""One meaning per word (storage.words): Latin words match whole words in the search index
(SQLite FTS5 trigram and PostgreSQL pg_trgm prefilters plus the whole-word condition), in
watches and in Telegram's filer predicate; Chinese text and digits stay substrings. Totals and
keyset paging stay exact. The company group stored with the index filters search.

Expected answers come from ``web_helpers.word_match``, the rule written independently as a
regular expression.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
from storage.corpus import Corpus, FilerWords, FilingQuery
from storage.repo import Repository
from storage.words import contains_words, word_needles, word_text

try:  # tests/ is a rootdir-relative folder, not a package (pytest prepends it)
    from web_helpers import word_match
except ImportError:  # pragma: no cover
    from tests.web_helpers import word_match

# (filer, English name the describer gives, name, products, company (key, zh, en, foreign))
FILERS: list[tuple[str, str, str, tuple[str, ...], tuple[str, str, str, bool] | None]] = [
    ("北京智源人工智能研究院", "Beijing Academy of Artificial Intelligence", "悟道大模型", ("Intelligent Assistant",), None),
    ("英特尔（中国）有限公司", "Intel (China) Co., Ltd.", "英特尔视觉算法", ("Intel OpenVINO",), ("intel", "英特尔", "Intel", True)),
    ("深圳TCL新技术有限公司", "Shenzhen TCL New Technology Co., Ltd.", "TCL智能推荐算法", ("TCL电视",), ("tcl", "TCL", "TCL", False)),
    ("北京腾讯音乐科技有限公司", "Tencent Music Entertainment Beijing", "腾讯音乐推荐算法", ("QQ音乐",), ("tencent", "腾讯", "Tencent", False)),
    ("上海GPT4o科技有限公司", "Shanghai Gpt4o Technology Co., Ltd.", "GPT-4o 对话助手", ("gpt4 app", "ChatGPT镜像"), None),
    ("杭州字节跳动科技有限公司", "Hangzhou ByteDance Technology", "抖音推荐算法", ("抖音",), ("bytedance", "字节跳动", "ByteDance", False)),
]

QUERIES = [
    "Intel", "intel", "INTEL", "Intelligence", "Intelligent", "intel china", "TCL", "tcl新", "Tencent Music", "tencentmusic",
    "music", "Tencent", "腾讯", "音乐", "智能", "算法", "GPT", "gpt4", "gpt-4o", "4o", "byte dance", "ByteDance", "Bytedance Tech",
    "110000", "网信算备11", "000000000000003", "Co., Ltd", "ltd", "co", "a", "i", "l", "te", "de", "北京", "助手", "qq", "q",
    "Artificial", "artificial intelligence", "beijing academy",
]


def _rows() -> list[FilingRow]:
    rows = []
    for index, (entity, _, name, products, _company) in enumerate(FILERS):
        for copy in range(3):  # several filings per filer: paging crosses filers and ranks
            rows.append(
                FilingRow(
                    kind=Kind.DEEP_SYNTHESIS, filing_number=f"网信算备11000000000000{index}{copy}240011号",
                    name=f"{name}{copy}" if copy else name, entity=entity, role="provider", category=None, products=products,
                    purpose="应用于文本生成场景", province="北京市", remark="", status=Status.ACTIVE, filed_on=None,
                    row_index=len(rows),
                )
            )
    return rows


def _describe(entity: str) -> FilerWords:
    _, english, _, _, company = next(f for f in FILERS if f[0] == entity)
    if company is None:
        return FilerWords(english=english, company=None)
    key, zh, en, foreign = company
    return FilerWords(english=english, company=en, words=(zh, en), company_key=key, company_zh=zh, foreign=foreign)


def _filer_words(entity: str) -> list[str]:
    words = _describe(entity)
    return [entity, words.english, words.company or "", *words.words]


@pytest.fixture
def corpus(database: Any) -> Corpus:
    ref = ListRef(Kind.DEEP_SYNTHESIS, "2024-01", "境内深度合成服务算法备案清单（2024年1月）", "公告", "https://x.example/p", "https://x.example/a")
    with database.session() as session:
        Repository(session).ingest(ParsedList(ref, "d" * 64, "docx", tuple(_rows())), "key-1")
    found = Corpus(database)
    found.refresh_search_text(_describe, "words-test")
    return found


def _expected(q: str) -> set[str]:
    return {
        r.filing_number for r in _rows()
        if any(word_match(field, q) for field in (r.filing_number, r.name, *r.products, r.purpose, *_filer_words(r.entity)))
    }


def _all_pages(corpus: Corpus, query: FilingQuery, limit: int) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = corpus.search_filings(query, limit=limit, after=after)
        seen += [r["filing_number"] for r in page.items]
        if page.next_key is None:
            return seen
        after = page.next_key


@pytest.mark.parametrize("q", QUERIES)
def test_latin_words_match_whole_and_chinese_and_digits_any_part(corpus: Corpus, q: str) -> None:
    expected = _expected(q)
    seen = _all_pages(corpus, FilingQuery(q=q), limit=2)
    assert len(seen) == len(set(seen)), "a filing was visited twice"
    assert set(seen) == expected
    assert corpus.count_filings(FilingQuery(q=q)) == len(expected)
    # The feed's newest filings are the same set.
    assert {n.record["filing_number"] for n in corpus.new_filings(FilingQuery(q=q), limit=100)} == expected


@pytest.mark.parametrize("q", [*QUERIES, "网信算备110000000000000", "1100000000000002", "科技"])
def test_pages_come_in_rank_then_storage_order(corpus: Corpus, q: str) -> None:
    """Exact number first, then the filings whose filer holds the query, then the rest, each in
    the order stored — with any page size, whichever way the database reads a rank."""
    rows = _rows()

    def rank(row: FilingRow) -> int:
        if "".join(row.filing_number.split()).casefold() == "".join(q.split()).casefold():
            return 0
        return 1 if any(word_match(part, q) for part in _filer_words(row.entity)) else 2

    expected = [r.filing_number for r in sorted((r for r in rows if r.filing_number in _expected(q)), key=lambda r: (rank(r), r.row_index))]
    for limit in (1, 2, 5, 50):
        assert _all_pages(corpus, FilingQuery(q=q), limit=limit) == expected, (q, limit)


def test_intel_is_not_intelligence(corpus: Corpus) -> None:
    intel = {r["entity"] for r in corpus.search_filings(FilingQuery(q="Intel"), limit=50).items}
    assert intel == {"英特尔（中国）有限公司"}
    assert "北京智源人工智能研究院" in {r["entity"] for r in corpus.search_filings(FilingQuery(q="Intelligence"), limit=50).items}


def test_random_queries_cut_from_the_texts_follow_the_rule(corpus: Corpus) -> None:
    """Pieces of the stored texts at random places (mid-word, across words, mixed scripts)."""
    rng = random.Random(21)
    texts = [t for f in FILERS for t in (f[0], f[1], f[2], *f[3])]
    for _ in range(60):
        text = rng.choice(texts)
        start = rng.randrange(len(text))
        q = text[start : start + rng.randint(1, 8)].strip() or "x"
        assert set(_all_pages(corpus, FilingQuery(q=q), limit=4)) == _expected(q), q
        assert corpus.count_filings(FilingQuery(q=q)) == len(_expected(q)), q


def test_company_group_and_foreign_filters(corpus: Corpus) -> None:
    rows = _rows()

    def numbers(query: FilingQuery) -> set[str]:
        assert corpus.count_filings(query) == len(found := set(_all_pages(corpus, query, limit=2)))
        return found

    of = {f[0]: f[4] for f in FILERS}
    assert numbers(FilingQuery(group="intel")) == {r.filing_number for r in rows if r.entity == "英特尔（中国）有限公司"}
    assert numbers(FilingQuery(foreign=True)) == {r.filing_number for r in rows if (of[r.entity] or ("", "", "", False))[3]}
    assert numbers(FilingQuery(foreign=False)) == {r.filing_number for r in rows if not (of[r.entity] or ("", "", "", False))[3]}
    assert numbers(FilingQuery(group="tencent", q="音乐")) == {r.filing_number for r in rows if r.entity == "北京腾讯音乐科技有限公司"}
    assert numbers(FilingQuery(group="tesla")) == set()
    assert numbers(FilingQuery(group="tencent", foreign=True)) == set()


@pytest.mark.parametrize(
    ("text", "q", "found"),
    [
        ("Beijing Artificial Intelligence Co", "Intel", False),
        ("Intel Corp", "intel", True),
        ("深圳TCL新技术有限公司", "TCL", True),
        ("深圳TCL新技术有限公司", "ＴＣＬ新技术", True),
        ("Tencent Music", "tencent  music", True),
        ("Tencent Music", "tencentmusic", False),
        ("ByteDance", "byte dance", True),
        ("网信算备110108823483901230011号", "110108", True),
        ("网信算备110108823483901230011号", "3901230011号", True),
        ("GPT-4o", "gpt", True),
        ("ChatGPT", "gpt", False),
        ("北京百度网讯科技有限公司", "百度", True),
    ],
)
def test_the_rule_in_python(text: str, q: str, found: bool) -> None:
    assert contains_words(text, q) is found
    assert word_match(text, q) is found


def test_needles_mark_latin_ends_only() -> None:
    assert word_needles("110108") == ()
    assert word_needles("腾讯") == ()
    assert word_needles("Intel") == ("\x1fintel\x1f",)
    # Marks beside Chinese text are implied by containment: no word condition to pay for.
    assert word_needles("网信算备110") == ()
    assert word_needles("网信算备 1101 0800") == ()
    assert word_needles("TCL新技术") == ("\x1ftcl\x1f新技术",)
    assert word_needles("深圳TCL") == ("深圳\x1ftcl\x1f",)
    assert word_needles("byte dance") == ("\x1fbyte\x1f\x1fdance\x1f", "\x1fbytedance\x1f")
    # A typed separator character is whitespace, never a forged word boundary.
    assert word_text("a\x1fb") == "\x1fa\x1f\x1fb\x1f"
