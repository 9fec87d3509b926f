"""bot.changes.companies: big-tech groups and foreign filers on real subsidiary names, English names
(maintained, rule-based, hostile input), glossary, provinces and batch labels."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.changes.companies import (
    BIG_TECH,
    FOREIGN,
    GLOSSARY,
    BigTechGroup,
    ForeignFiler,
    batch_label,
    big_tech_group,
    chinese_number,
    english_name,
    foreign_filer,
    ordinal_en,
    province_en,
    translate_term,
)
from bot.changes.resolver import resolve
from scrapers.normalize import PROVINCES

SAMPLE = Path(__file__).parent / "data" / "expected.jsonl"
ENTITIES = sorted({json.loads(line)["entity"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line})

# Every big-tech filer among the 245 real entities of the sample, and its group: pins recall
# AND precision (an entity missing here must not match any group).
SAMPLE_GROUPS = {
    "上海商汤智能科技有限公司": "sensetime",
    "上海宽娱数码科技有限公司": "bilibili",
    "上海小度人工智能有限公司": "baidu",
    "上海拉扎斯信息科技有限公司": "alibaba",
    "上海汉涛信息咨询有限公司": "meituan",
    "上海淘票票影视文化有限公司": "alibaba",
    "上海稀宇科技有限公司": "minimax",
    "中电信人工智能科技（北京）有限公司": "china_telecom",
    "京东科技信息技术有限公司": "jd",
    "优酷信息技术（北京）有限公司": "alibaba",
    "北京三快科技有限公司": "meituan",
    "北京大麦文化传媒发展有限公司": "alibaba",
    "北京奇虎科技有限公司": "qihoo360",
    "北京微梦创科网络技术有限公司": "weibo",
    "北京快手科技有限公司": "kuaishou",
    "北京抖音信息服务有限公司": "bytedance",
    "北京新浪互联信息服务有限公司": "weibo",
    "北京智谱华章科技有限公司": "zhipu",
    "北京月之暗面科技有限公司": "moonshot",
    "北京爱奇艺科技有限公司": "baidu",
    "北京百度网讯科技有限公司": "baidu",
    "北京网易传媒有限公司": "netease",
    "北京网易有道计算机系统有限公司": "netease",
    "北京趣拿信息技术有限公司": "tripcom",
    "北京酷我科技有限公司": "tencent",
    "北京金山办公软件股份有限公司": "kingsoft",
    "北京高德图强科技有限公司": "alibaba",
    "华为云计算技术有限公司": "huawei",
    "华为技术有限公司": "huawei",
    "华为软件技术有限公司": "huawei",
    "天津三六零快看科技有限公司": "qihoo360",
    "小米科技有限责任公司": "xiaomi",
    "广州市动景计算机科技有限公司": "alibaba",
    "广州网易计算机系统有限公司": "netease",
    "广州酷狗计算机科技有限公司": "tencent",
    "支付宝（杭州）数字服务技术有限公司": "alibaba",
    "杭州深度求索人工智能基础技术研究有限公司": "deepseek",
    "杭州网易元气科技有限公司": "netease",
    "杭州网易增盈科技有限公司": "netease",
    "杭州网易雷火科技有限公司": "netease",
    "杭州菜鸟物流信息科技有限公司": "alibaba",
    # Operating companies named after none of Alibaba's brands: 天猫精灵, 飞猪, 口碑, 医鹿 (Alibaba Health).
    "浙江艾克斯精灵人工智能科技有限公司": "alibaba",
    "杭州淘美航空服务有限公司": "alibaba",
    "杭州口口相传网络技术有限公司": "alibaba",
    "杭州康淘信息技术有限公司": "alibaba",
    "杭州阿里巴巴广告有限公司": "alibaba",
    "浙江天猫网络有限公司": "alibaba",
    "浙江淘宝网络有限公司": "alibaba",
    "浙江点淘好物网络有限公司": "alibaba",
    "浙江阿里巴巴闲鱼网络科技有限公司": "alibaba",
    "深圳市懒人在线科技有限公司": "tencent",
    "深圳市欢太科技有限公司": "oppo",
    "深圳市腾讯计算机系统有限公司": "tencent",
    "深圳荣耀软件技术有限公司": "honor",
    "科大讯飞股份有限公司": "iflytek",
    "网易（杭州）网络有限公司": "netease",
    "腾讯音乐娱乐（深圳）有限公司": "tencent",
    "行吟信息科技（上海）有限公司": "xiaohongshu",
    "讯飞医疗科技股份有限公司": "iflytek",
    "钉钉科技有限公司": "alibaba",
    "阿里巴巴达摩院（杭州）科技有限公司": "alibaba",
    "阿里巴巴（中国）有限公司": "alibaba",
}


def test_sample_has_the_real_entities() -> None:
    assert len(ENTITIES) == 245
    assert set(SAMPLE_GROUPS) <= set(ENTITIES)


def test_big_tech_on_every_sample_entity() -> None:
    found = {entity: group.key for entity in ENTITIES if (group := big_tech_group(entity)) is not None}
    assert found == SAMPLE_GROUPS


@pytest.mark.parametrize(
    ("entity", "key"),
    [
        ("北京字节跳动科技有限公司", "bytedance"),
        ("北京字跳网络技术有限公司", "bytedance"),
        ("北京春田知韵科技有限公司", "bytedance"),  # 豆包
        ("北京火山引擎科技有限公司", "bytedance"),
        ("北京京东世纪贸易有限公司", "jd"),
        ("上海寻梦信息技术有限公司", "pinduoduo"),
        ("阿里云计算有限公司", "alibaba"),
        ("蚂蚁科技集团股份有限公司", "alibaba"),
        ("腾讯科技（深圳）有限公司", "tencent"),
        ("百度在线网络技术（北京）有限公司", "baidu"),
        ("北京百川智能科技有限公司", "baichuan"),
        ("三六零科技集团有限公司", "qihoo360"),
        ("上海哔哩哔哩科技有限公司", "bilibili"),
        ("上海幻电信息科技有限公司", "bilibili"),
        ("携程计算机技术（上海）有限公司", "tripcom"),
        ("中国移动通信集团有限公司", "china_mobile"),
        ("中移（杭州）信息技术有限公司", "china_mobile"),
        ("咪咕文化科技有限公司", "china_mobile"),
        ("天翼云科技有限公司", "china_telecom"),
        ("联通数字科技有限公司", "china_unicom"),
        ("ＯＰＰＯ广东移动通信有限公司", "oppo"),  # full-width Latin
    ],
)
def test_big_tech_other_subsidiaries(entity: str, key: str) -> None:
    group = big_tech_group(entity)
    assert group is not None and group.key == key


@pytest.mark.parametrize(
    "entity",
    [
        "京东方科技集团股份有限公司",  # BOE, not JD
        "南京东方科技有限公司",  # 南京东… is not 京东
        "北京东港瑞宏科技有限公司",
        "上海金山城市建设投资有限公司",  # the district, not Kingsoft
        "创新浪潮科技有限公司",  # 新浪潮 is not Sina
        "淘宝贝科技有限公司",
        "小米粒文化传媒有限公司",
        "上海寻梦园林有限公司",
        "",
        "   ",
    ],
)
def test_big_tech_look_alikes(entity: str) -> None:
    assert big_tech_group(entity) is None


def test_group_shape() -> None:
    group = big_tech_group("阿里巴巴（中国）有限公司")
    assert group == BigTechGroup("alibaba", "阿里巴巴", "Alibaba")
    assert len({g.key for g in BIG_TECH}) == len(BIG_TECH)
    assert {"alibaba", "tencent", "baidu", "bytedance", "meituan", "jd", "kuaishou", "netease", "iflytek",
            "sensetime", "xiaomi", "huawei", "pinduoduo", "baichuan", "zhipu", "moonshot", "minimax", "deepseek",
            "qihoo360", "bilibili", "weibo", "tripcom", "kingsoft", "china_mobile", "china_telecom",
            "china_unicom"} <= {g.key for g in BIG_TECH}


@pytest.mark.parametrize(
    ("entity", "key", "country"),
    [
        ("惠普贸易（上海）有限公司", "hp", "United States"),
        ("中国惠普有限公司", "hp", "United States"),
        ("微软（中国）有限公司", "microsoft", "United States"),
        ("三星（中国）投资有限公司", "samsung", "South Korea"),
        ("苹果电子产品商贸（北京）有限公司", "apple", "United States"),
        ("英特尔（中国）有限公司", "intel", "United States"),
        ("国际商业机器（中国）有限公司", "ibm", "United States"),
        ("奥多比系统软件（北京）有限公司", "adobe", "United States"),
        ("索尼（中国）有限公司", "sony", "Japan"),
        ("西门子（中国）有限公司", "siemens", "Germany"),
        ("思爱普（中国）有限公司", "sap", "Germany"),
        ("甲骨文（中国）软件系统有限公司", "oracle", "United States"),
        ("华晨宝马汽车有限公司", "bmw", "Germany"),
        ("梅赛德斯-奔驰（中国）投资有限公司", "mercedes", "Germany"),
        ("特斯拉（上海）有限公司", "tesla", "United States"),
        ("金拱门（中国）有限公司", "mcdonalds", "United States"),
        ("欧莱雅（中国）有限公司", "loreal", "France"),
        ("上汽大众汽车有限公司", "volkswagen", "Germany"),
    ],
)
def test_foreign_filers(entity: str, key: str, country: str) -> None:
    filer = foreign_filer(entity)
    assert filer is not None and filer.key == key and filer.country == country


@pytest.mark.parametrize(
    "entity",
    [
        "宁波三星医疗电气股份有限公司",  # a Chinese 三星
        "耐克森（苏州）电缆有限公司",  # Nexans, not Nike
        "大众交通（集团）股份有限公司",  # 大众 = the public
        "北京现代城市规划设计有限公司",  # 现代 = modern
        "甲骨文文化传播有限公司",  # oracle-bone script
        "高通量测序科技有限公司",
        "微软件科技有限公司",
    ],
)
def test_foreign_look_alikes(entity: str) -> None:
    assert foreign_filer(entity) is None


def test_no_foreign_filer_in_the_sample() -> None:
    assert [e for e in ENTITIES if foreign_filer(e) is not None] == []


def test_foreign_shape() -> None:
    assert foreign_filer("惠普贸易（上海）有限公司") == ForeignFiler("hp", "惠普", "HP", "United States")
    assert len({f.key for f in FOREIGN}) == len(FOREIGN)


@pytest.mark.parametrize(
    ("name", "key"),
    [("HP", "hp"), ("hewlett-packard", "hp"), ("Alibaba", "alibaba"), ("bytedance", "bytedance"),
     ("Byte Dance", "bytedance"), ("Pinduoduo", "pinduoduo"), ("Ctrip", "tripcom"), ("L'Oréal", "loreal"),
     ("字节跳动", "bytedance"), ("抖音", "bytedance"), ("腾讯", "tencent"), ("淘宝", "alibaba"), ("惠普", "hp")],
)
def test_resolve_english_names(name: str, key: str) -> None:
    assert [company.key for company in resolve(name)] == [key]


# --- English names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "english"),
    [
        # maintained
        ("科大讯飞股份有限公司", "iFlytek Co., Ltd."),
        ("北京百度网讯科技有限公司", "Beijing Baidu Netcom Science and Technology Co., Ltd."),
        ("华为技术有限公司", "Huawei Technologies Co., Ltd."),
        ("小米科技有限责任公司", "Xiaomi Inc."),
        ("上海商汤智能科技有限公司", "Shanghai SenseTime Intelligent Technology Co., Ltd."),
        # rule-based: place, pinyin trade name, industry words, organisation type
        ("北京智谱华章科技有限公司", "Beijing Zhipu Huazhang Technology Co., Ltd."),
        ("图形起源（北京）科技有限公司", "Tuxing Qiyuan (Beijing) Technology Co., Ltd."),
        ("北京大麦文化传媒发展有限公司", "Beijing Damai Culture & Media Development Co., Ltd."),
        ("深圳市腾讯计算机系统有限公司", "Shenzhen Tencent Computer Systems Co., Ltd."),
        ("腾讯音乐娱乐（深圳）有限公司", "Tencent Music Entertainment (Shenzhen) Co., Ltd."),
        ("阿里巴巴（中国）有限公司", "Alibaba (China) Co., Ltd."),
        ("浙江天猫网络有限公司", "Zhejiang Tmall Network Co., Ltd."),
        ("江苏苏宁银行股份有限公司", "Jiangsu Suning Bank Co., Ltd."),
        ("内蒙古大于网络科技有限公司", "Inner Mongolia Dayu Network Technology Co., Ltd."),
        ("惠普贸易（上海）有限公司", "HP Trading (Shanghai) Co., Ltd."),
        ("三星（中国）投资有限公司", "Samsung (China) Investment Co., Ltd."),
        ("上汽大众汽车有限公司", "SAIC Volkswagen Automobile Co., Ltd."),
        ("中国移动通信集团有限公司", "China Mobile Communications Group Co., Ltd."),
        ("阿里巴巴（北京）软件服务有限公司北京分公司", "Alibaba (Beijing) Software Services Co., Ltd. Beijing Branch"),
        ("长治市玖安网络科技有限公司", "Changzhi Jiu'an Network Technology Co., Ltd."),
        ("京东方科技集团股份有限公司", "BOE Technology Group Co., Ltd."),
        ("清华大学", "Tsinghua University"),
        ("北京大学", "Peking University"),
        ("上海人工智能实验室", "Shanghai Artificial Intelligence Laboratory"),
        ("深圳TCL新技术有限公司", "Shenzhen TCL New Technology Co., Ltd."),
        ("北京 百度网讯 科技有限公司", "Beijing Baidu Netcom Science and Technology Co., Ltd."),  # stray spaces
    ],
)
def test_english_name(entity: str, english: str) -> None:
    assert english_name(entity) == english


def test_english_name_of_every_sample_entity() -> None:
    for entity in ENTITIES:
        english = english_name(entity)
        assert english and english.isascii(), entity
        assert "  " not in english and english == english.strip()
        assert english.endswith(("Co., Ltd.", "Inc.", "Limited", ")")), (entity, english)


@pytest.mark.parametrize(
    ("entity", "english"),
    [("", ""), ("   ", ""), ("\u200b\n", ""), ("Kimi", "Kimi"), ("HP Inc.", "HP Inc."), ("OpenAI, L.L.C.", "OpenAI, L.L.C.")],
)
def test_english_name_odd_input(entity: str, english: str) -> None:
    assert english_name(entity) == english


def test_english_name_hostile_input() -> None:
    script = english_name("<script>alert(1)</script>")
    assert "<" not in script and ">" not in script and "script" in script
    assert english_name("北京<b>某某</b>科技有限公司").startswith("Beijing")
    assert "\n" not in english_name("北京某某\n科技\x00有限公司")
    long = english_name("北京" + "很长" * 5000 + "科技有限公司")
    assert long.startswith("Beijing") and long.endswith("...") and len(long) < 1000
    assert english_name("😀") == "😀"  # nothing to transliterate: the visible text, not ""
    assert english_name(None) == ""  # type: ignore[arg-type]
    assert english_name(12345) == "12345"  # type: ignore[arg-type]


_VISIBLE = st.characters(exclude_categories=("Cs",))
_NAMEY = st.sampled_from(list("北京上海深圳阿里巴巴腾讯科技有限公司股份集团分（）()中国信息网络 -&·<>\"'AbcZ0189"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet=_VISIBLE, max_size=80), st.text(alphabet=_NAMEY, max_size=60)))
def test_english_name_never_raises(text: str) -> None:
    english = english_name(text)
    assert isinstance(english, str)
    assert english == english_name(text)  # deterministic
    if any(unicodedata.category(ch)[0] not in "CZ" for ch in text):
        assert english, repr(text)
    assert "<" not in english and ">" not in english
    assert len(english) <= 1000


# --- glossary, provinces, batches -------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "english"),
    [
        ("服务提供者", "service provider"),
        ("服务技术支持者", "technical supporter"),
        ("technical_supporter", "technical supporter"),
        ("个性化推送类", "personalised push"),
        ("排序精选类", "ranking & selection"),
        ("检索过滤类", "search & filtering"),
        ("信息检索类", "information retrieval"),
        ("调度决策类", "scheduling & decision-making"),
        ("内容过滤类", "content filtering"),
        ("生成合成类", "generation & synthesis"),
        ("生成合成", "generation & synthesis"),
        ("APP", "app"),
        ("网站", "website"),
        ("小程序", "mini program"),
        ("公众号", "public account"),
        ("其他", "other"),
        ("deep_synthesis", "deep synthesis"),
        ("深度合成", "deep synthesis"),
        ("genai_service", "generative AI services"),
        ("广东省", "Guangdong"),
        ("已注销", "cancelled"),
        ("未知的词", "未知的词"),  # unknown: as given
    ],
)
def test_translate_term(term: str, english: str) -> None:
    assert translate_term(term) == english
    assert term in GLOSSARY or english in (term, "generation & synthesis")


def test_all_provinces_in_english() -> None:
    names = {province_en(zh) for code, zh in PROVINCES.items() if int(code) < 70}
    assert len(names) == 31 and all(n and n.isascii() for n in names)
    assert province_en("北京市") == province_en("北京") == province_en("beijing") == "Beijing"
    assert province_en("内蒙古自治区") == "Inner Mongolia"
    assert province_en("广西壮族自治区") == province_en("广西") == "Guangxi"
    assert province_en("西藏自治区") == province_en("Xizang") == "Tibet"
    assert province_en("宁夏回族自治区") == "Ningxia"
    assert province_en("新疆维吾尔自治区") == "Xinjiang"
    assert province_en("陕西省") == "Shaanxi" and province_en("山西省") == "Shanxi"
    assert province_en("香港特别行政区") == "Hong Kong"
    assert province_en("火星") == "" and province_en("") == "" and province_en(None) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "zh", "en"),
    [
        (1, "第一批", "1st batch"),
        (2, "第二批", "2nd batch"),
        (3, "第三批", "3rd batch"),
        (4, "第四批", "4th batch"),
        (10, "第十批", "10th batch"),
        (11, "第十一批", "11th batch"),
        (12, "第十二批", "12th batch"),
        (13, "第十三批", "13th batch"),
        (16, "第十六批", "16th batch"),
        (20, "第二十批", "20th batch"),
        (21, "第二十一批", "21st batch"),
        (22, "第二十二批", "22nd batch"),
        (23, "第二十三批", "23rd batch"),
        (100, "第一百批", "100th batch"),
        (101, "第一百零一批", "101st batch"),
        (110, "第一百一十批", "110th batch"),
        (111, "第一百一十一批", "111th batch"),
        (112, "第一百一十二批", "112th batch"),
        (1001, "第一千零一批", "1001st batch"),
        (1010, "第一千零一十批", "1010th batch"),
        (20000, "第二万批", "20000th batch"),
    ],
)
def test_batch_label(n: int, zh: str, en: str) -> None:
    assert batch_label(n) == (zh, en)


@given(st.integers(min_value=0, max_value=99_999_999))
def test_numbers_are_well_formed(n: int) -> None:
    zh = chinese_number(n)
    assert zh and not zh.endswith("零") or n == 0
    assert "零零" not in zh
    assert ordinal_en(n).startswith(str(n)) and ordinal_en(n)[-2:] in ("st", "nd", "rd", "th")
