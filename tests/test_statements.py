"""Totals stated in announcement texts, and article bodies that are lists (scrapers/sources/cac/statements.py)."""

from __future__ import annotations

from scrapers.records import StatedTotals
from scrapers.sources.cac.statements import article_body, body_has_table, stated_totals

# The sentence CAC published with its 2024 summary (end of 2024: 302 filed, 105 registered).
END_2024 = (
    "截至2024年12月31日，共有302款生成式人工智能服务在国家网信办完成备案，其中2024年新增238款备案；"
    "对于通过API调用或者其他方式直接调用已备案模型能力的生成式人工智能应用或功能，2024年共有105款"
    "生成式人工智能应用或功能在地方网信办完成登记。"
)


def test_the_totals_of_a_real_sentence_not_the_year_s_increase() -> None:
    assert stated_totals(END_2024) == [StatedTotals("2024-12-31", 302, 105)]


def test_only_filed_stated() -> None:
    text = "截至2025年3月31日，共有346款生成式人工智能服务在国家网信办完成备案。"
    assert stated_totals(text) == [StatedTotals("2025-03-31", 346, None)]


def test_full_width_digits_截止_and_indents() -> None:
    text = "　　截止２０２６年６月３０日，共有９８８款生成式人工智能服务在国家网信办完成备案，５９８款 生成式人工智能应用或功能在地方网信办完成登记。"
    assert stated_totals(text) == [StatedTotals("2026-06-30", 988, 598)]


def test_thousands_and_several_dates_each_with_its_own_totals() -> None:
    text = (
        "截至2026年4月30日，累计1,068款服务已完成备案，530款应用完成登记。"
        "截至2026年6月30日，共有1,188款生成式人工智能服务完成备案，598款应用或功能完成登记。"
    )
    assert stated_totals(text) == [StatedTotals("2026-04-30", 1068, 530), StatedTotals("2026-06-30", 1188, 598)]


def test_a_date_without_a_total_states_nothing() -> None:
    assert stated_totals("请于2025年3月31日前完成备案工作。截至目前，备案工作进展顺利。") == []
    assert stated_totals("截至2025年3月31日，已有20家企业提交材料。") == []
    assert stated_totals("") == []


def test_article_body_text_without_the_table_and_whether_a_list_is_in_it() -> None:
    page = (
        "<html><body><h1 class='title'>t</h1><div class='TRS_Editor'><p>" + END_2024 + "</p>"
        "<table><tr><td>序号</td><td>属地</td><td>模型名称</td><td>备案单位</td><td>备案编号</td><td>备案时间</td></tr>"
        "<tr><td>1</td><td>上海市</td><td>某模型</td><td>某公司</td><td>Shanghai-MouMoXing-202607010001</td>"
        "<td>2026/7/1</td></tr></table></div></body></html>"
    )
    text, has_list = article_body(page)
    assert has_list and "302款" in text and "Shanghai-MouMoXing" not in text
    layout = "<html><body><div class='TRS_Editor'><table><tr><td>" + END_2024 + "</td></tr></table></div></body></html>"
    assert not body_has_table(layout)  # a layout table is not a list ...
    assert "302款" in article_body(layout)[0]  # ... and its text may be the statement
    assert not body_has_table("<html><body><div class='TRS_Editor'><p>无表格</p></div></body></html>")
