"""Telegram rendering: escaping, UTF-16 limits, thread splitting, the one-post baseline."""

from __future__ import annotations

import copy
import re

import pytest
from fake_telegram import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    HtmlError,
    baseline,
    filing_record,
    list_event,
    utf16_len,
    validate_html,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.changes.companies import english_name
from bot.changes.watchlist import FilingHit
from bot.delivery.telegram.format import (
    Block,
    caption_for,
    list_label,
    month_label,
    pack,
    render_event,
    render_watch_alert,
    split_html,
)

HOSTILE = '<script>alert("x")</script> & Co. &amp; <b>bold</b> "quoted" \'single\''


def assert_valid_posts(posts: list[str], limit: int = TEXT_LIMIT) -> str:
    """Every post parses like Telegram parses it and fits; returns the thread's plain text."""
    assert posts
    plain = []
    for post in posts:
        assert utf16_len(post) <= limit, utf16_len(post)
        text = validate_html(post)
        assert text.strip()
        plain.append(text)
    return "\n".join(plain)


# --- the fake's validator itself (it is the referee of every other test) -------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "<script>x</script>",
        "<b>unclosed",
        "<b><i>crossed</b></i>",
        "a & b",
        "a &nbsp; b",
        "1 < 2",
        "2 > 1",
        '<a href="javascript:alert(1)">x</a>',
        '<span class="x">y</span>',
        "<code><b>x</b></code>",
        "</b>",
    ],
)
def test_validator_rejects_what_telegram_rejects(bad: str) -> None:
    with pytest.raises(HtmlError):
        validate_html(bad)


def test_validator_accepts_supported_markup() -> None:
    text = ('<b>b</b><strong>s</strong><i>i</i><u>u</u><s>s</s><tg-spoiler>x</tg-spoiler>'
            '<span class="tg-spoiler">y</span><a href="https://x.cn/?a=1&amp;b=2">l</a><pre><code class="language-py">'
            '1 &lt; 2</code></pre><blockquote>q</blockquote> &#128512; &#x1F600; &quot;')
    assert "1 < 2" in validate_html(text)


def test_utf16_counting() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("深度合成") == 4
    assert utf16_len("😀") == 2  # outside the BMP: a surrogate pair
    assert utf16_len("👨‍👩‍👧") == 8


# --- escaping ----------------------------------------------------------------------------------


def test_hostile_names_are_escaped_everywhere() -> None:
    record = filing_record(1, name=HOSTILE, entity=HOSTILE)
    event = list_event(
        "list.revised",
        new=[record],
        changed=[{"kind": "deep_synthesis", "filing_number": "网信算备<x>&号", "name": HOSTILE, "entity": HOSTILE,
                  "changes": {"entity": [HOSTILE, "新名称 & <i>"], "products": [["<a>"], ["b&c"]]}}],
        removed=[filing_record(2, entity=HOSTILE)],
        notable=[{"type": "big_tech", "zh": HOSTILE, "en": HOSTILE, "data": {}}],
        title=HOSTILE,
        name=HOSTILE,
        page_url="https://www.cac.gov.cn/page.htm?a=1&b=<2>\"",  # refused: not a clean URL
        attachment_url="https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=a&fText=%E6%B8%85",
    )
    posts = render_event(event)
    plain = assert_valid_posts(posts)
    joined = "".join(posts)
    assert "<script>" not in joined and "&lt;script&gt;" in joined
    assert HOSTILE in plain  # the reader sees the name exactly as CAC wrote it
    assert 'href="https://www.cac.gov.cn/cms/pub/interact/downloadfile.jsp?filepath=a&amp;fText=%E6%B8%85"' in joined
    assert "page.htm" not in joined
    assert_valid_posts([caption_for(event)], CAPTION_LIMIT)


def test_headline_names_kind_batch_month_and_new_count() -> None:
    event = list_event(new=[filing_record(i) for i in range(608)], batch=16)
    event["data"]["counts"]["new"] = 608
    posts = render_event(event)
    plain = assert_valid_posts(posts)
    assert "第十六批深度合成服务算法备案" in plain
    assert "16th batch of deep-synthesis filings" in plain
    assert "2026年5月" in plain and "May 2026" in plain
    assert "新增备案 608 项" in plain and "608 new filings" in plain
    assert plain.index("第十六批") < plain.index("16th batch")  # Chinese first
    assert "The second-largest of 7 lists." in plain
    assert len(posts) == 1  # hundreds of filings are summarised, not listed


def test_labels() -> None:
    assert list_label("deep_synthesis", 16) == ("第十六批深度合成服务算法备案", "16th batch of deep-synthesis filings")
    zh, en = list_label("genai_service", None, "2024-04")
    assert zh == "生成式人工智能服务备案（2024年4月）" and en == "Generative-AI service filings (April 2024)"
    assert month_label("2024-13") == ("2024-13", "2024-13")


def test_single_language() -> None:
    event = list_event()
    zh = assert_valid_posts(render_event(event, "zh"))
    en = assert_valid_posts(render_event(event, "en"))
    assert "新增备案" in zh and "new filings" not in zh
    assert "new filings" in en and "新增备案" not in en


def test_top_filers_and_rank_fall_back_to_the_data() -> None:
    new = [filing_record(i, entity="北京百度网讯科技有限公司") for i in range(4)] + [filing_record(9)]
    event = list_event(new=new, notable=[], sizes=[["2026-01", 50], ["2026-03", 400], ["2026-05", 105]])
    plain = assert_valid_posts(render_event(event))
    assert "北京百度网讯科技有限公司（4项）" in plain
    assert f"{english_name('北京百度网讯科技有限公司')} (4)" in plain  # Beijing Baidu Netcom …
    assert "#2 by size of 3 lists" in plain


# --- splitting -----------------------------------------------------------------------------------


def test_long_revision_becomes_a_numbered_thread_split_between_items() -> None:
    long_name = "很长的算法名称" * 40
    changed = [
        {"kind": "deep_synthesis", "filing_number": f"网信算备1101080000{i:03d}01240011号", "name": long_name,
         "entity": f"公司{i}", "changes": {"status": ["active", "cancelled"], "remark": ["", "已注销"]}}
        for i in range(40)
    ]
    posts = render_event(list_event("list.revised", new=[], changed=changed))
    assert len(posts) > 2
    plain = assert_valid_posts(posts)
    # Capped at MAX_LISTED per language, with the rest summarised.
    assert "……另有 25 项" in plain and "…and 25 more" in plain
    assert posts[0].endswith(f"(1/{len(posts)})</i>")
    for post in posts:
        # A cut falls between items: no item is broken across posts.
        for line in validate_html(post).splitlines():
            if line.startswith("• 很长"):
                assert line.count("网信算备") == 1 and "→" in line


def test_emoji_count_double() -> None:
    # 3000 code points but 6000 UTF-16 units: one post by len(), two by Telegram's count.
    finding = {"type": "big_tech", "zh": "😀" * 3000, "en": "ok", "data": {}}
    posts = render_event(list_event(notable=[finding]), "zh")
    assert len(posts) >= 2
    assert_valid_posts(posts)
    assert sum(post.count("😀") for post in posts) == 3000


def test_one_giant_block_is_cut_without_breaking_tags_or_entities() -> None:
    block = "<b>" + "A&amp;B " * 2000 + "</b>" + "深" * 5000 + "<code>" + "x" * 9000 + "</code>"
    pieces = split_html(block, 4000)
    assert len(pieces) > 3
    plain = "".join(validate_html(piece) for piece in pieces)
    assert plain == validate_html(block)
    for piece in pieces:
        assert utf16_len(piece) <= 4000


def test_pack_keeps_blocks_whole_when_they_fit() -> None:
    blocks = [Block("a" * 3000), Block("b" * 3000), Block("c" * 10, "\n")]
    posts = pack(blocks)
    assert [validate_html(p).split("\n")[0] for p in posts] == ["a" * 3000, "b" * 3000]
    assert "c" * 10 in posts[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(codec="utf-8", exclude_characters="<>&"), max_size=80),
            st.sampled_from(["<b>", "</b>", "&amp;", "&lt;", "😀", "深度合成", " ", "\n", "<i>x</i>", " " * 150, "字" * 120]),
        ),
        max_size=60,
    ),
    st.integers(min_value=40, max_value=300),
)
def test_split_html_property(tokens: list[str], limit: int) -> None:
    # Balance the <b> tags we generated so the input is valid Telegram HTML.
    text, depth = "", 0
    for token in tokens:
        if token == "</b>" and depth == 0:
            continue
        depth += {"<b>": 1, "</b>": -1}.get(token, 0)
        text += token
    text += "</b>" * depth
    try:
        expected = validate_html(text)
    except HtmlError:
        return
    pieces = split_html(text, limit)
    for piece in pieces:
        assert utf16_len(piece) <= limit
        validate_html(piece)
    # Every visible character survives, in order (whitespace at a cut may go: Telegram trims it anyway).
    squeeze = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    assert squeeze("".join(validate_html(p) for p in pieces)) == squeeze(expected)


# --- baseline and captions ---------------------------------------------------------------------


def test_baseline_is_one_post_even_with_huge_findings() -> None:
    notable = [{"type": "top_filers", "zh": HOSTILE * 20, "en": HOSTILE * 20, "data": {}} for _ in range(50)]
    posts = render_event(baseline(notable))
    assert len(posts) == 1
    plain = assert_valid_posts(posts)
    assert "24" in plain and "3210" in plain
    assert "Deep-synthesis filings: 16 lists, 2900 filings (12 cancelled)" in plain
    assert "深度合成服务算法备案：16 份清单，2900 项（已注销 12）" in plain


def test_caption_fits_even_for_absurd_names() -> None:
    event = list_event(batch=None, kind="x" * 3000)
    caption = caption_for(event)
    assert utf16_len(caption) <= CAPTION_LIMIT
    validate_html(caption)
    normal = caption_for(list_event())
    assert "第十七批" in normal and "17th batch" in normal and "3 new" in normal


def test_watch_alert() -> None:
    event = list_event("list.revised", new=[filing_record(1, entity="北京百度网讯科技有限公司")],
                       changed=[{"kind": "deep_synthesis", "filing_number": "网信算备X号", "name": "n",
                                 "entity": "北京百度网讯科技有限公司", "changes": {"status": ["active", "cancelled"]}}])
    data = event["data"]
    hits = [FilingHit("百度", "new", data["new"][0]), FilingHit("百度", "changed", data["changed"][0])]
    posts = render_watch_alert(event, hits)
    plain = assert_valid_posts(posts)
    assert "关注提醒：百度" in plain and "Watch alert: 百度" in plain
    assert "状态 有效 → 已注销" in plain and "status active → cancelled" in plain
    assert "Baidu" in plain


def test_render_does_not_mutate_the_event() -> None:
    event = list_event()
    before = copy.deepcopy(event)
    render_event(event)
    caption_for(event)
    assert event == before


# --- notable individual filings in a list too long to list -------------------------------------


def _long_list_with_notable_filers() -> dict:
    from bot.changes.findings import findings_for_list

    new = [filing_record(i) for i in range(40)]
    new[3] = filing_record(3, name="抖音推荐算法", entity="北京抖音信息服务有限公司")
    new[10] = filing_record(10, name="混元助手合成算法", entity="深圳市腾讯计算机系统有限公司")
    new[11] = filing_record(11, name="元宝对话合成算法", entity="深圳市腾讯计算机系统有限公司")
    new[20] = filing_record(20, name="Apple Intelligence 写作工具", entity="苹果电子产品商贸（北京）有限公司")
    new[30] = filing_record(30, name=HOSTILE, entity="三星（中国）投资有限公司")
    notable = findings_for_list(kind="deep_synthesis", list_month="2026-05", rows=new, new=new, changed=[], sizes=[])
    return list_event(new=new, notable=notable)


def test_a_long_list_names_its_big_tech_and_foreign_filings_by_name() -> None:
    from bot.delivery.telegram.format import notable_filings

    event = _long_list_with_notable_filers()
    names = [r["name"] for r in notable_filings(event["data"])]
    # One per leading big-tech group, one per foreign filer, then the groups' next ones; none of
    # the 35 others.
    assert set(names[:2]) == {"抖音推荐算法", "混元助手合成算法"}
    assert set(names[2:4]) == {"Apple Intelligence 写作工具", HOSTILE}
    assert names[4:] == ["元宝对话合成算法"]
    text = assert_valid_posts(render_event(event, "both"))
    assert "值得关注的新增备案" in text and "Notable new filings" in text
    for name in ("抖音推荐算法", "元宝对话合成算法", "Apple Intelligence 写作工具", HOSTILE):
        assert text.count(name) == 2  # in Chinese and in English
    assert "智能对话合成算法1 " not in text  # an ordinary filing of a long list is not named


def test_notable_filings_are_a_few_and_the_rest_is_counted() -> None:
    from bot.changes.findings import findings_for_list
    from bot.delivery.telegram.format import MAX_NOTABLE

    new = [filing_record(i, name=f"抖音算法{i}", entity="北京抖音信息服务有限公司") for i in range(30)]
    notable = findings_for_list(kind="deep_synthesis", list_month="2026-05", rows=new, new=new, changed=[], sizes=[])
    text = assert_valid_posts(render_event(list_event(new=new, notable=notable), "en"))
    assert sum(f"抖音算法{i} " in text for i in range(30)) == MAX_NOTABLE
    assert f"…and {30 - MAX_NOTABLE} more" in text


def test_notable_filings_with_huge_names_stay_within_telegrams_limits() -> None:
    from bot.changes.findings import findings_for_list

    new = [filing_record(i, name="超长名称" * 400 + HOSTILE, entity="北京抖音信息服务有限公司") for i in range(40)]
    new += [filing_record(100 + i, name="𝓐" * 2000, entity="深圳市腾讯计算机系统有限公司") for i in range(40)]
    notable = findings_for_list(kind="deep_synthesis", list_month="2026-05", rows=new, new=new, changed=[], sizes=[])
    posts = render_event(list_event(new=new, notable=notable), "both")
    text = assert_valid_posts(posts)  # every post parses and is at most 4096 UTF-16 units
    assert "Notable new filings" in text and "<script>" not in "".join(posts)


def test_notable_filings_never_come_from_the_watchlist() -> None:
    # The operator's watchlist stays out of the channel: a watched filer is not "notable" by itself.
    from bot.changes.findings import findings_for_list
    from bot.changes.watchlist import Watchlist
    from bot.delivery.telegram.format import channel_texts

    new = [filing_record(i) for i in range(40)]
    new[5] = filing_record(5, name="客户的算法", entity="某律所客户科技有限公司")
    notable = findings_for_list(
        kind="deep_synthesis", list_month="2026-05", rows=new, new=new, changed=[], sizes=[], watchlist=Watchlist(["某律所客户"])
    )
    assert any(f["type"] == "watchlist" for f in notable)
    caption, texts = channel_texts(list_event(new=new, notable=notable), "both")
    text = assert_valid_posts(texts)
    assert "客户的算法" not in text and "某律所客户" not in text
    assert caption is not None
    _, shown = channel_texts(list_event(new=new, notable=notable), "both", show_watchlist=True, chart=False)
    assert "某律所客户" in assert_valid_posts(shown)
