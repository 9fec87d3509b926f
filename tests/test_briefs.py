"""Briefs (issue 21 §1): every list of the bundled replica as PDF, DOCX and HTML in both languages,
numbers checked against the export; a replayed deep-synthesis history whose latest list is the
second-largest so far, told by the brief and by the Telegram post; `cacwatch brief`.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import docx
import pdfplumber
import pytest

from bot.briefs.facts import gather
from bot.briefs.render import render
from bot.changes.companies import translate_term
from bot.ingest.events import list_event
from bot.delivery.telegram.format import render_event
from scrapers.records import FilingRow, Kind, ListRef, ParsedList, Status
from storage.db import Database
from storage.repo import Repository
from web_helpers import ROOT, Site, served_replica

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _month_en(month: str) -> str:
    return f"{_MONTHS[int(month[5:7]) - 1]} {month[:4]}"


class _Text(HTMLParser):
    """The visible text of an HTML brief, one string per <p>/<td>/<li>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.scripts = 0
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        if tag in ("p", "td", "li", "h1", "h2"):
            self.parts.append("")
            self._open = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "td", "li", "h1", "h2"):
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self.parts[-1] += data


def _html_text(body: bytes) -> tuple[list[str], int]:
    parser = _Text()
    parser.feed(body.decode("utf-8"))
    return parser.parts, parser.scripts


def _pdf_text(body: bytes) -> str:
    with pdfplumber.open(io.BytesIO(body)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _registration(record: dict[str, Any]) -> str:
    if record.get("registration") in ("filed", "registered"):
        return str(record["registration"])
    return "registered" if re.search(r"S\d{4}$", record["filing_number"]) else "filed"


def _expected_sentences(records: list[dict[str, Any]], kind: str, month: str) -> list[str]:
    """What the English brief of a list must say, derived from the export alone."""
    mine = [r for r in records if r["kind"] == kind and r["list_month"] == month]
    sizes: Counter[str] = Counter(r["list_month"] for r in records if r["kind"] == kind)
    so_far = [n for m, n in sizes.items() if m <= month and m != month]
    expected = [f"holds {len(mine):,} filings", f"{len(mine):,} distinct filings, {len(mine):,} of them listed for the first time."]
    if so_far:
        rank = 1 + sum(1 for n in so_far if n > len(mine))
        expected.append(f"of {len(so_far) + 1} lists so far")
        if rank == 1:
            expected.append("the largest of")
        else:
            earlier = max(((n, m) for m, n in sizes.items() if m < month))
            expected.append(f"(the largest before it: {earlier[0]:,} in {_month_en(earlier[1])})")
    if kind == "deep_synthesis":
        roles = Counter(r["role"] for r in mine)
        parts = [f"{roles[k]:,} {label}" for k, label in (("provider", "service providers"),
                                                           ("technical_supporter", "technical supporters")) if roles[k]]
        expected.append("By role: " + ", ".join(parts) + ".")
    elif kind == "algorithm_recommendation":
        categories = Counter(r["category"] for r in mine if r["category"])
        expected += [f"{count:,} {translate_term(category)}" for category, count in categories.items()]
    else:
        registrations = Counter(_registration(r) for r in mine)
        words = {"filed": "filed with the national office", "registered": "registered by a provincial office"}
        expected += [f"{registrations[k]:,} {words[k]}" for k in ("filed", "registered") if registrations[k]]
    cancelled = sum(1 for r in mine if r["status"] == "cancelled")
    if cancelled:
        expected.append(f"{cancelled:,} cancelled:")
    to_date = [r for r in records if r["kind"] == kind and r["list_month"] <= month]
    active = sum(1 for r in to_date if r["status"] == "active")
    expected.append(f"To date (lists up to {_month_en(month)}): {len(to_date):,} filings, {active:,} active and "
                    f"{len(to_date) - active:,} cancelled.")
    if kind == "genai_service":
        held = Counter(_registration(r) for r in to_date if r["status"] == "active")
        expected.append(f"Active: {held['filed']:,} filed and {held['registered']:,} registered.")
    return expected


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("briefs")
    with served_replica(f"sqlite:///{tmp / 'briefs.db'}", tmp) as served:
        yield served


def _lists(site: Site) -> list[dict[str, Any]]:
    return [item for item in site.json("/api/v1/lists")["items"] if not item["is_cancellation"]]


def test_every_replica_list_has_a_brief_in_each_format_and_language(site: Site) -> None:
    lists = _lists(site)
    assert {(item["kind"], item["list_month"]) for item in lists} == {(r["kind"], r["list_month"]) for r in site.records}
    for item in lists:
        kind, month = item["kind"], item["list_month"]
        page = site.get(f"/lists/{kind}/{month}")
        for fmt in ("pdf", "docx", "html"):
            assert f"/lists/{kind}/{month}/brief.{fmt}?lang=both" in page.text
            answer = site.get(f"/lists/{kind}/{month}/brief.{fmt}", lang="both")
            assert answer.status_code == 200, (kind, month, fmt, answer.text[:300])
            if fmt == "pdf":
                assert answer.headers["content-type"] == "application/pdf"
                assert "attachment" in answer.headers["content-disposition"]
                # The CJK font travels in the file (a TrueType program), and Chinese comes back out.
                assert b"/FontFile2" in answer.content
                text = _pdf_text(answer.content)
                assert len(_HAN.findall(text)) > 50 and "简报" in text and "brief" in text
            elif fmt == "docx":
                document = docx.Document(io.BytesIO(answer.content))
                body = "\n".join(p.text for p in document.paragraphs)
                assert "简报" in body and "brief" in body and document.inline_shapes  # the chart
                assert len(document.tables) == 2 or not gather_examples(site, kind, month)
            else:
                assert answer.headers["content-type"].startswith("text/html")
                assert "script-src" not in answer.headers["content-security-policy"]
                assert "unsafe-inline" not in answer.headers["content-security-policy"]
                parts, scripts = _html_text(answer.content)
                assert scripts == 0 and any("简报" in p for p in parts) and any("brief" in p for p in parts)
                assert item["page_url"] in answer.text and item["attachment_url"].replace("&", "&amp;") in answer.text
            again = site.client.get(f"/lists/{kind}/{month}/brief.{fmt}", params={"lang": "both"},
                                    headers={"If-None-Match": answer.headers["etag"]})
            assert again.status_code == 304


def test_briefs_render_a_few_at_a_time_and_are_kept(site: Site) -> None:
    """Several PDFs asked at once all arrive (the renderer is bounded, not refused), and each is
    kept on disk under data_dir/briefs: asking again is answered from there."""
    from concurrent.futures import ThreadPoolExecutor

    lists = _lists(site)
    paths = [f"/lists/{item['kind']}/{item['list_month']}/brief.pdf" for item in lists]
    with ThreadPoolExecutor(len(paths)) as pool:
        # One render at a time (briefs.renders): the last in line waits for all the others.
        answers = list(pool.map(lambda path: site.client.get(path, params={"lang": "zh"}, timeout=600), paths))
    assert [a.status_code for a in answers] == [200] * len(paths)
    kept = site.config.parent / "data" / "briefs"
    assert len(list(kept.glob("*_zh.pdf"))) == len(paths)
    for path, first in zip(paths, answers):
        assert site.get(path, lang="zh").content == first.content


def gather_examples(site: Site, kind: str, month: str) -> bool:
    """Whether the brief has a table of notable filings: a big-tech or foreign filer in the list."""
    from bot.changes.companies import big_tech_group, foreign_filer

    return any(big_tech_group(r["entity"]) or foreign_filer(r["entity"])
               for r in site.records if r["kind"] == kind and r["list_month"] == month)


def test_every_number_in_a_brief_matches_the_store(site: Site) -> None:
    for item in _lists(site):
        kind, month = item["kind"], item["list_month"]
        expected = _expected_sentences(site.records, kind, month)
        html = site.get(f"/lists/{kind}/{month}/brief.html", lang="en")
        assert html.status_code == 200
        text = " ".join(_html_text(html.content)[0])
        pdf_text = _flat(_pdf_text(site.get(f"/lists/{kind}/{month}/brief.pdf", lang="en").content))
        for sentence in expected:
            assert sentence in text, (kind, month, sentence, text[:2000])
            assert _flat(sentence) in pdf_text, (kind, month, sentence)
        zh = " ".join(_html_text(site.get(f"/lists/{kind}/{month}/brief.html", lang="zh").content)[0])
        mine = sum(1 for r in site.records if r["kind"] == kind and r["list_month"] == month)
        assert f"备案清单共 {mine:,} 项" in zh


def test_period_briefs_and_bad_requests(site: Site) -> None:
    year = site.get("/lists/algorithm_recommendation/2023-01/brief.html", lang="en", period="year")
    assert year.status_code == 200
    text = " ".join(_html_text(year.content)[0])
    in_2023 = [r for r in site.records if r["kind"] == "algorithm_recommendation" and r["list_month"].startswith("2023")]
    assert f"{len(in_2023):,} filings in all" in text
    assert site.get("/lists/deep_synthesis/2023-06/brief.pdf", lang="fr").status_code == 400
    assert site.get("/lists/deep_synthesis/1999-01/brief.pdf").status_code == 404
    assert site.get("/lists/deep_synthesis/2023-06/brief.exe").status_code == 404
    assert site.get("/lists/deep_synthesis/2023-06/brief.pdf", period="decade").status_code == 400


def test_cli_writes_each_format(site: Site, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(site.config), "brief", *args],
                              capture_output=True, cwd=ROOT, timeout=300)

    for fmt in ("pdf", "docx", "html"):
        out = tmp_path / f"b.{fmt}"
        result = cli("deep_synthesis", "2023-08", "--format", fmt, "--lang", "both", "--output", str(out))
        assert result.returncode == 0, result.stderr[-1000:]
        assert out.stat().st_size > 1000
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "b.docx").read_bytes().startswith(b"PK")
    stdout = cli("genai_service", "2024-08", "--format", "html", "--lang", "zh")
    assert stdout.returncode == 0 and "生成式人工智能服务" in stdout.stdout.decode()
    unknown = cli("deep_synthesis", "2023-07", "--format", "html")
    assert unknown.returncode == 2 and b"no deep_synthesis list named for 2023-07" in unknown.stderr
    missing_font = tmp_path / "font.yaml"
    missing_font.write_text(site.config.read_text() + "briefs:\n  font: /nonexistent/cjk.ttc\n")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "--config", str(missing_font), "brief", "deep_synthesis",
                             "2023-08", "--format", "pdf", "--output", str(tmp_path / "x.pdf")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 1 and "briefs.font: no font file at /nonexistent/cjk.ttc" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- a replayed history -------------------------------------------------------------------------

# Big tech of the last list: the carriers and others have more rows than the groups readers follow.
_AUGUST = [
    ("中国电信股份有限公司", 14, "天翼云(网站)", "应用于政务客服场景，生成文本回答。"),
    ("中国移动通信有限公司", 12, "和留言(APP)", "应用于语音留言场景，生成语音。"),
    ("网易（杭州）网络有限公司", 11, "网易云音乐(APP)", "应用于音乐创作场景，生成旋律。"),
    ("中国联合网络通信有限公司", 10, "联通云盘(APP)", "应用于文件摘要场景，生成摘要。"),
    ("科大讯飞股份有限公司", 9, "讯飞输入法(APP)", "应用于输入场景，生成候选文本。"),
    ("上海商汤智能科技有限公司", 8, "商量(网站)", "应用于对话场景，生成文本。"),
    ("三六零科技集团有限公司", 7, "360浏览器(APP)", "应用于搜索场景，生成答案。"),
    ("北京金山办公软件股份有限公司", 6, "WPS(APP)", "应用于文档写作场景，生成文本。"),
    ("上海宽娱数码科技有限公司", 5, "哔哩哔哩(APP)", "应用于视频字幕场景，生成字幕。"),
    ("北京智谱华章科技有限公司", 5, "智谱清言(APP)", "应用于对话场景，生成文本。"),
    # Site text is text: markup in a product name must reach no document as markup.
    ("北京月之暗面科技有限公司", 4, "Kimi<img src=x onerror=alert(1)>&amp;(APP)", "应用于长文本对话场景，生成<b>文本</b>。"),
    ("阿里巴巴（中国）有限公司", 3, "通义(APP)", "应用于对话问答场景，根据用户输入生成文本、图片。"),
    ("北京百度网讯科技有限公司", 2, "文心一言(APP)", "应用于对话场景，根据用户提问生成文本回答。"),
    ("深圳市腾讯计算机系统有限公司", 1, "微信(APP)", "应用于微信搜索场景，根据用户的搜索生成总结性回答。"),
    ("北京抖音信息服务有限公司", 2, "抖音(APP)", "应用于视频创作场景，生成特效图像。"),
    ("惠普贸易（上海）有限公司", 1, "HP AI Companion(软件)", "应用于个人电脑助手场景，生成文本回答。"),
]
_SIZES = (("2023-06", 41), ("2023-08", 60), ("2024-01", 80), ("2024-04", 95), ("2024-06", 160))
_AUGUST_SIZE = 130


def _row(kind_index: int, i: int, entity: str, product: str, purpose: str, role: str = "provider") -> FilingRow:
    number = f"网信算备110108{kind_index:02d}{i:05d}0124{i % 1000:03d}1号"
    return FilingRow(kind=Kind.DEEP_SYNTHESIS, filing_number=number, name=f"{product}生成算法{i}", entity=entity,
                     role=role, category=None, products=(product,) if role == "provider" else (),
                     purpose=purpose, province="北京市", remark="", status=Status.ACTIVE, filed_on=None, row_index=i)


def _list(index: int, month: str, rows: list[FilingRow]) -> ParsedList:
    ref = ListRef(kind=Kind.DEEP_SYNTHESIS, list_month=month, name=f"境内深度合成服务算法备案清单（{month}）",
                  title=f"第{index}批", page_url=f"https://www.cac.gov.cn/{month}/c_{index}.htm",
                  attachment_url=f"https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=t{index}")
    return ParsedList(ref, hashlib.sha256(month.encode()).hexdigest(), "docx", tuple(rows))


def _replay(database: Database) -> tuple[Any, Any]:
    """Ingest the deep-synthesis lists in order, as polls would; the August event and brief facts."""
    with database.session() as session:
        repo = Repository(session)
        for index, (month, size) in enumerate(_SIZES, 1):
            rows = [_row(index, i, f"北京示例{index}科技有限公司", "示例(APP)", "应用于示例场景。") for i in range(size)]
            outcome = repo.ingest(_list(index, month, rows), f"key-{month}")
            assert list_event(repo, _list(index, month, rows).ref, outcome, None) is not None
        august: list[FilingRow] = []
        for entity, count, product, purpose in _AUGUST:
            for _ in range(count):
                august.append(_row(9, len(august), entity, product, purpose))
        while len(august) < _AUGUST_SIZE:
            august.append(_row(9, len(august), "北京示例九科技有限公司", "示例(APP)", "应用于示例场景。", "technical_supporter"))
        parsed = _list(6, "2024-08", august)
        outcome = repo.ingest(parsed, "key-2024-08")
        event = list_event(repo, parsed.ref, outcome, None)
        assert event is not None
        facts = gather(session, "deep_synthesis", "2024-08")
    return event, facts


def test_a_replayed_history_tells_the_second_largest_list_with_every_leading_group(database: Database) -> None:
    event, facts = _replay(database)
    en = "\n".join(render_event(event, "en", public_url="https://cac.example.org"))
    zh = "\n".join(render_event(event, "zh"))
    assert "the second-largest of 6 deep-synthesis lists" in en and "在 6 批深度合成备案中规模第二" in zh
    for month, size in _SIZES:
        assert f"{size:,}" in en.split("Earlier lists:")[1].split("\n")[0]
    big_tech_en = next(line for line in en.splitlines() if "Big tech" in line)
    big_tech_zh = next(line for line in zh.splitlines() if "大型科技集团" in line)
    for group, group_zh in (("Baidu", "百度"), ("Alibaba", "阿里巴巴"), ("Tencent", "腾讯"), ("ByteDance", "字节跳动")):
        assert group in big_tech_en and big_tech_en.index(group) < big_tech_en.index("China Telecom")
        assert group_zh in big_tech_zh and big_tech_zh.index(group_zh) < big_tech_zh.index("中国电信")
    assert "HP" in next(line for line in en.splitlines() if "Foreign" in line)
    assert "https://cac.example.org/lists/deep_synthesis/2024-08/brief.pdf?lang=en" in en

    assert (facts.rank_so_far, facts.of_so_far, facts.size) == (2, 6, _AUGUST_SIZE)
    assert [s.rows for s in facts.earlier] == [size for _, size in _SIZES]
    leading = [g for g in facts.big_tech if g.leading]
    assert [g.en for g in leading] == ["Baidu", "Alibaba", "Tencent", "ByteDance"]
    for group in leading:
        assert 1 <= len(group.examples) <= 3 and all(e.purpose for e in group.examples)
    assert [f.en for f in facts.foreign] == ["HP"]

    html = render(facts, "html", "en").decode()
    text = " ".join(_html_text(html.encode())[0])
    assert "the second-largest of 6 lists so far (the largest before it: 160 in June 2024)" in text
    assert "Earlier lists: June 2023: 41; August 2023: 60; January 2024: 80; April 2024: 95; June 2024: 160." in text
    for name in ("Baidu", "Alibaba", "Tencent", "ByteDance", "China Telecom", "HP"):
        assert name in text
    # Two or three example products with what they are used for, in the table of notable filings.
    assert "微信(APP)" in text and "应用于微信搜索场景，根据用户的搜索生成总结性回答。" in text
    assert "通义(APP)" in text and "HP AI Companion(软件)" in text
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;&amp;amp;(APP)" in html
    assert "<b>文本</b>" not in html and "Kimi<img src=x onerror=alert(1)>&amp;(APP)" in text
    document = docx.Document(io.BytesIO(render(facts, "docx", "en")))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert "Kimi<img src=x onerror=alert(1)>&amp;(APP)" in cells and "微信(APP)" in cells
    # In the PDF table the product wraps inside its cell: its pieces come back as written.
    pdf_en = _flat(_pdf_text(render(facts, "pdf", "en")))
    assert "Kimi<img" in pdf_en and "onerror=alert(1)>" in pdf_en and "<b>文本" in pdf_en
    pdf = _flat(_pdf_text(render(facts, "pdf", "zh")))
    assert _flat("在截至本清单已发布的 6 批中规模第二（此前最大为2024年6月的 160 项）") in pdf
    assert "腾讯" in pdf and "微信(APP)" in pdf and "惠普" in pdf


async def test_a_subscriber_who_asks_gets_the_brief_attached(tmp_path: Path) -> None:
    from bot.settings.config import settings_from_mapping
    from bot.delivery.email.notifier import EmailNotifier
    from bot.delivery.outbox import deliver_until_idle, enqueue
    from smtp_sink import Sink, smtp_server

    database = Database(f"sqlite:///{tmp_path / 'mail.db'}")
    database.migrate()
    event, _ = _replay(database)
    sink = Sink()
    with smtp_server(sink) as port:
        settings = settings_from_mapping({"notify": {"email": {
            "smtp_host": "127.0.0.1", "smtp_port": port, "security": "none", "sender": "watch@cacwatch.example",
            "recipients": ["plain@lawfirm.example"], "timeout": 5,
            "subscribers": [{"address": "partner@lawfirm.example", "language": "en", "attach_brief": True}],
        }}}, env={}).notify.email
        assert settings is not None
        notifier = EmailNotifier(settings, database)
        with database.session() as session:
            enqueue(session, event, [notifier])
        run = await deliver_until_idle(database, {notifier.destination: notifier}, max_wait=30)
        assert not run.errors
    database.dispose()
    by_address = {rcpt[0]: message for rcpt, message in sink.received}
    assert set(by_address) == {"plain@lawfirm.example", "partner@lawfirm.example"}
    assert not [p for p in by_address["plain@lawfirm.example"].iter_attachments() if p.get_content_type() == "application/pdf"]
    pdfs = [p for p in by_address["partner@lawfirm.example"].iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_filename() for p in pdfs] == ["cacwatch-brief-deep_synthesis-2024-08-en.pdf"]
    text = _flat(_pdf_text(pdfs[0].get_payload(decode=True)))
    assert _flat("the second-largest of 6 lists so far") in text
    # The digest's own attachments are still there.
    assert any(p.get_filename().endswith(".csv") for p in by_address["partner@lawfirm.example"].iter_attachments())


def test_a_person_downloads_the_brief_from_the_list_page(site: Site, tmp_path: Path) -> None:
    """Chromium: the list page's PDF and DOCX links download the documents; the HTML brief shows
    its chart and style with no CSP violation, no script and no failed request."""
    from playwright.sync_api import sync_playwright

    from test_web_browser import ARGS, CHROMIUM, Watched

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(accept_downloads=True, locale="zh-CN")
            watched = Watched(context.new_page())
            page = watched.page
            page.goto(site.url + "/lists/deep_synthesis/2023-08")
            links = page.locator("p.briefs a")
            assert links.count() == 7
            for label, magic in (("PDF", b"%PDF"), ("DOCX", b"PK")):
                with page.expect_download(timeout=300_000) as info:
                    page.locator("p.briefs a", has_text=label).first.click()
                path = tmp_path / info.value.suggested_filename
                info.value.save_as(path)
                assert path.name == f"cacwatch-brief-deep_synthesis-2023-08-both.{label.lower()}"
                assert path.read_bytes().startswith(magic)
            page.locator("p.briefs a", has_text="HTML").click(timeout=300_000)
            page.wait_for_load_state()
            assert "深度合成服务算法备案清单简报" in page.locator("h1").first.inner_text()
            assert page.evaluate("document.querySelector('figure img').naturalWidth") > 0
            # The hashed style applied: headings take the brief's colour.
            assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(31, 58, 95)"
            assert page.locator("script").count() == 0
            assert watched.unexpected() == []
        finally:
            browser.close()


def test_a_genai_brief_reconciles_with_the_totals_cac_stated(database: Database) -> None:
    """filed / registered / on-device from the rows; totals to date against CAC's statement."""
    from scrapers.records import Announcement, SourceSignal, StatedTotals
    from scrapers.sources.cac.titles import attachment_key
    from storage.totals_repo import TotalsRepository

    base = "https://www.cac.gov.cn"

    def genai(number: str, i: int, registration: str, scenario: str | None = None) -> FilingRow:
        return FilingRow(kind=Kind.GENAI_SERVICE, filing_number=number, name=f"模型{i}", entity=f"北京模型{i}科技有限公司",
                         role=None, category=None, products=(), purpose="", province="北京市", remark="",
                         status=Status.ACTIVE, filed_on=None, row_index=i, registration=registration, scenario=scenario)

    def ingest(repo: Repository, month: str, token: str, rows: list[FilingRow]) -> None:
        url = f"{base}/cms/pub/interact/downloadfile.jsp?filepath={token}"
        ref = ListRef(kind=Kind.GENAI_SERVICE, list_month=month, name=f"生成式人工智能服务已备案信息（{month}）", title="t",
                      page_url=f"{base}/2024-04/02/c_1713729983803145.htm", attachment_url=url, published_on=f"{month}-10")
        repo.ingest(ParsedList(ref, hashlib.sha256(token.encode()).hexdigest(), "docx", tuple(rows)), attachment_key(url))

    def state(totals: TotalsRepository, page: str, as_of: str, filed: int, registered: int, token: str) -> None:
        links = (attachment_key(f"{base}/cms/pub/interact/downloadfile.jsp?filepath={token}"),)
        totals.record_announcement(Announcement(page, "关于发布生成式人工智能服务已备案信息的公告", as_of, SourceSignal.CHANNEL,
                                                totals=(StatedTotals(as_of, filed, registered),), links=links),
                                   Kind.GENAI_SERVICE)

    with database.session() as session:
        repo, totals = Repository(session), TotalsRepository(session)
        ingest(repo, "2024-04", "A", [genai(f"Beijing-A{i}-20240301", i, "filed") for i in range(5)])
        ingest(repo, "2024-08", "B", [genai(f"Beijing-B{i}-20240701", i, "filed") for i in range(3)]
               + [genai(f"Beijing-B{i}-20240701S000{i}", 10 + i, "registered") for i in range(2)]
               + [genai("Beijing-Phone-20240701", 20, "filed", "苹果手机")])
        state(totals, f"{base}/s1.htm", "2024-08-31", 9, 2, "B")  # 5 + 3 + 1 filed, 2 registered: reconciles
        state(totals, f"{base}/s0.htm", "2024-04-30", 6, 0, "A")  # one more than held: a difference
        august = gather(session, "genai_service", "2024-08")
        april = gather(session, "genai_service", "2024-04")
    assert [(c.key, c.count) for c in august.breakdown] == [("filed", 4), ("registered", 2), ("on_device", 1)]
    text = " ".join(_html_text(render(august, "html", "en"))[0])
    assert "Filed and registered: 4 filed with the national office, 2 registered by a provincial office, 1 of them on-device." in text
    assert "Active: 9 filed and 2 registered." in text
    assert "CAC stated 9 filed and 2 registered as of 2024-08-31: they reconcile." in text
    zh = " ".join(_html_text(render(august, "html", "zh"))[0])
    assert "国家网信办公布截至2024-08-31共备案 9 款、登记 2 款，与本库一致。" in zh
    text = " ".join(_html_text(render(april, "html", "en"))[0])
    assert "CAC stated 6 filed and 0 registered as of 2024-04-30: they differ (held: 5 filed, 0 registered)." in text


def test_genai_company_lines_name_the_leading_groups_first() -> None:
    """The GenAI post's "Big tech among them" line (every group, none cut) leads with the groups
    readers follow too, however many rows the carriers have."""
    from bot.changes.genai import companies_among

    records = ([{"entity": "中国电信股份有限公司", "registration": "filed"}] * 6
               + [{"entity": "中国移动通信有限公司", "registration": "registered"}] * 4
               + [{"entity": "深圳市腾讯计算机系统有限公司", "registration": "filed"}]
               + [{"entity": "北京百度网讯科技有限公司", "registration": "registered"}] * 2
               + [{"entity": "惠普贸易（上海）有限公司", "registration": "filed"}])
    groups, foreign = companies_among(records)
    assert [g.en for g in groups] == ["Baidu", "Tencent", "China Telecom", "China Mobile"]
    assert [c.en for c in foreign] == ["HP"]
