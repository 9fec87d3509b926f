"""Maintained knowledge about filers: big-tech groups, foreign firms, English names, a glossary.

Matching is on the filing entity as CAC lists it (a subsidiary's full legal name), so the
patterns are distinctive fragments of subsidiary names, not brand names alone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "BigTechGroup",
    "ForeignFiler",
    "BIG_TECH",
    "FOREIGN",
    "big_tech_group",
    "foreign_filer",
    "english_name",
    "province_en",
    "translate_term",
    "batch_label",
    "GLOSSARY",
    "KIND_NAMES",
]


@dataclass(frozen=True, slots=True)
class BigTechGroup:
    key: str
    zh: str
    en: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ForeignFiler:
    key: str
    zh: str
    en: str
    country: str
    patterns: tuple[str, ...]


BIG_TECH: tuple[BigTechGroup, ...] = (
    BigTechGroup("alibaba", "阿里巴巴", "Alibaba", ("阿里巴巴", "阿里云", "钉钉", "淘宝", "天猫", "优酷", "高德", "饿了么", "夸克", "蚂蚁", "支付宝", "菜鸟", "口碑", "盒马", "斑马网络", "阿里")),
    BigTechGroup("tencent", "腾讯", "Tencent", ("腾讯", "深圳市腾讯计算机系统", "微信", "财付通", "阅文")),
    BigTechGroup("baidu", "百度", "Baidu", ("百度", "小度", "爱奇艺")),
    BigTechGroup("bytedance", "字节跳动", "ByteDance", ("字节跳动", "抖音", "今日头条", "火山引擎", "春田知韵", "飞书", "北京微播视界", "脸萌", "巨量引擎", "剪映")),
    BigTechGroup("meituan", "美团", "Meituan", ("美团", "三快", "大众点评")),
    BigTechGroup("jd", "京东", "JD.com", ("京东", "京邦达")),
    BigTechGroup("kuaishou", "快手", "Kuaishou", ("快手",)),
    BigTechGroup("netease", "网易", "NetEase", ("网易", "有道")),
    BigTechGroup("iflytek", "科大讯飞", "iFlytek", ("科大讯飞", "讯飞")),
    BigTechGroup("sensetime", "商汤", "SenseTime", ("商汤",)),
    BigTechGroup("xiaomi", "小米", "Xiaomi", ("小米",)),
    BigTechGroup("huawei", "华为", "Huawei", ("华为",)),
    BigTechGroup("pdd", "拼多多", "PDD", ("拼多多", "寻梦")),
    BigTechGroup("zhipu", "智谱", "Zhipu AI", ("智谱",)),
    BigTechGroup("moonshot", "月之暗面", "Moonshot AI", ("月之暗面",)),
    BigTechGroup("minimax", "稀宇", "MiniMax", ("稀宇", "MiniMax")),
    BigTechGroup("deepseek", "深度求索", "DeepSeek", ("深度求索",)),
    BigTechGroup("baichuan", "百川智能", "Baichuan", ("百川智能",)),
    BigTechGroup("qihoo360", "三六零", "360", ("三六零", "奇虎", "北京鸿享", "北京世界星辉")),
    BigTechGroup("bilibili", "哔哩哔哩", "Bilibili", ("哔哩哔哩", "幻电")),
    BigTechGroup("weibo", "微博", "Weibo/Sina", ("微博", "新浪")),
    BigTechGroup("trip", "携程", "Trip.com", ("携程",)),
    BigTechGroup("kingsoft", "金山", "Kingsoft", ("金山软件", "金山办公", "金山云", "北京金山", "珠海金山")),
    BigTechGroup("china_mobile", "中国移动", "China Mobile", ("中国移动", "中移")),
    BigTechGroup("china_telecom", "中国电信", "China Telecom", ("中国电信", "中电信", "天翼")),
    BigTechGroup("china_unicom", "中国联通", "China Unicom", ("中国联通", "联通数字", "联通在线")),
)

FOREIGN: tuple[ForeignFiler, ...] = (
    ForeignFiler("hp", "惠普", "HP", "US", ("惠普",)),
    ForeignFiler("microsoft", "微软", "Microsoft", "US", ("微软",)),
    ForeignFiler("samsung", "三星", "Samsung", "KR", ("三星",)),
    ForeignFiler("apple", "苹果", "Apple", "US", ("苹果电脑", "苹果技术", "苹果贸易")),
    ForeignFiler("intel", "英特尔", "Intel", "US", ("英特尔",)),
    ForeignFiler("ibm", "IBM", "IBM", "US", ("IBM", "国际商业机器")),
    ForeignFiler("amazon", "亚马逊", "Amazon", "US", ("亚马逊",)),
    ForeignFiler("google", "谷歌", "Google", "US", ("谷歌",)),
    ForeignFiler("meta", "Meta", "Meta", "US", ("脸书",)),
    ForeignFiler("adobe", "奥多比", "Adobe", "US", ("奥多比", "Adobe")),
    ForeignFiler("nvidia", "英伟达", "Nvidia", "US", ("英伟达",)),
    ForeignFiler("qualcomm", "高通", "Qualcomm", "US", ("高通",)),
    ForeignFiler("dell", "戴尔", "Dell", "US", ("戴尔",)),
    ForeignFiler("sony", "索尼", "Sony", "JP", ("索尼",)),
    ForeignFiler("panasonic", "松下", "Panasonic", "JP", ("松下",)),
    ForeignFiler("canon", "佳能", "Canon", "JP", ("佳能",)),
    ForeignFiler("ricoh", "理光", "Ricoh", "JP", ("理光",)),
    ForeignFiler("toyota", "丰田", "Toyota", "JP", ("丰田",)),
    ForeignFiler("honda", "本田", "Honda", "JP", ("本田",)),
    ForeignFiler("siemens", "西门子", "Siemens", "DE", ("西门子",)),
    ForeignFiler("sap", "思爱普", "SAP", "DE", ("思爱普",)),
    ForeignFiler("bosch", "博世", "Bosch", "DE", ("博世",)),
    ForeignFiler("volkswagen", "大众", "Volkswagen", "DE", ("大众汽车", "上汽大众", "一汽-大众", "一汽大众")),
    ForeignFiler("bmw", "宝马", "BMW", "DE", ("宝马",)),
    ForeignFiler("mercedes", "奔驰", "Mercedes-Benz", "DE", ("奔驰", "戴姆勒")),
    ForeignFiler("tesla", "特斯拉", "Tesla", "US", ("特斯拉",)),
    ForeignFiler("oracle", "甲骨文", "Oracle", "US", ("甲骨文",)),
    ForeignFiler("cisco", "思科", "Cisco", "US", ("思科",)),
    ForeignFiler("lg", "乐金", "LG", "KR", ("乐金", "LG")),
    ForeignFiler("hyundai", "现代", "Hyundai", "KR", ("现代汽车",)),
    ForeignFiler("philips", "飞利浦", "Philips", "NL", ("飞利浦",)),
    ForeignFiler("starbucks", "星巴克", "Starbucks", "US", ("星巴克",)),
    ForeignFiler("mcdonalds", "麦当劳", "McDonald's", "US", ("麦当劳", "金拱门")),
    ForeignFiler("yum", "百胜", "Yum China", "US", ("百胜",)),
    ForeignFiler("unilever", "联合利华", "Unilever", "GB", ("联合利华",)),
    ForeignFiler("pg", "宝洁", "P&G", "US", ("宝洁",)),
    ForeignFiler("loreal", "欧莱雅", "L'Oréal", "FR", ("欧莱雅",)),
    ForeignFiler("estee", "雅诗兰黛", "Estée Lauder", "US", ("雅诗兰黛",)),
    ForeignFiler("nike", "耐克", "Nike", "US", ("耐克",)),
    ForeignFiler("airbnb", "爱彼迎", "Airbnb", "US", ("爱彼迎",)),
    ForeignFiler("linkedin", "领英", "LinkedIn", "US", ("领英",)),
    ForeignFiler("zoom", "Zoom", "Zoom", "US", ("Zoom",)),
)

PROVINCES_EN: dict[str, str] = {
    "北京市": "Beijing", "天津市": "Tianjin", "河北省": "Hebei", "山西省": "Shanxi", "内蒙古自治区": "Inner Mongolia",
    "辽宁省": "Liaoning", "吉林省": "Jilin", "黑龙江省": "Heilongjiang", "上海市": "Shanghai", "江苏省": "Jiangsu",
    "浙江省": "Zhejiang", "安徽省": "Anhui", "福建省": "Fujian", "江西省": "Jiangxi", "山东省": "Shandong",
    "河南省": "Henan", "湖北省": "Hubei", "湖南省": "Hunan", "广东省": "Guangdong", "广西壮族自治区": "Guangxi",
    "海南省": "Hainan", "重庆市": "Chongqing", "四川省": "Sichuan", "贵州省": "Guizhou", "云南省": "Yunnan",
    "西藏自治区": "Tibet", "陕西省": "Shaanxi", "甘肃省": "Gansu", "青海省": "Qinghai", "宁夏回族自治区": "Ningxia",
    "新疆维吾尔自治区": "Xinjiang", "台湾省": "Taiwan", "香港特别行政区": "Hong Kong", "澳门特别行政区": "Macao",
}

# Place prefixes of company names (cities first: longer names must win over provinces).
_PLACES: dict[str, str] = {
    **{zh.rstrip("省市"): en for zh, en in PROVINCES_EN.items() if zh.endswith(("省", "市"))},
    "内蒙古": "Inner Mongolia", "广西": "Guangxi", "西藏": "Tibet", "宁夏": "Ningxia", "新疆": "Xinjiang",
    "深圳": "Shenzhen", "杭州": "Hangzhou", "广州": "Guangzhou", "南京": "Nanjing", "苏州": "Suzhou", "成都": "Chengdu",
    "武汉": "Wuhan", "合肥": "Hefei", "厦门": "Xiamen", "福州": "Fuzhou", "泉州": "Quanzhou", "长沙": "Changsha",
    "西安": "Xi'an", "青岛": "Qingdao", "济南": "Jinan", "宁波": "Ningbo", "无锡": "Wuxi", "珠海": "Zhuhai",
    "东莞": "Dongguan", "佛山": "Foshan", "郑州": "Zhengzhou", "沈阳": "Shenyang", "大连": "Dalian", "贵阳": "Guiyang",
    "昆明": "Kunming", "南昌": "Nanchang", "石家庄": "Shijiazhuang", "太原": "Taiyuan", "哈尔滨": "Harbin",
    "长春": "Changchun", "南宁": "Nanning", "海口": "Haikou", "兰州": "Lanzhou", "晋江": "Jinjiang", "中国": "China",
}

# Longest first when applied; a company name is mostly these words around a trade name.
_WORDS: dict[str, str] = {
    "股份有限公司": "Co., Ltd.", "有限责任公司": "Co., Ltd.", "有限公司": "Co., Ltd.", "分公司": "Branch",
    "集团": "Group", "研究院": "Research Institute", "研究所": "Research Institute", "大学": "University",
    "人工智能": "Artificial Intelligence", "信息技术": "Information Technology", "计算机系统": "Computer Systems",
    "电子商务": "E-commerce", "文化传媒": "Culture & Media", "信息服务": "Information Services",
    "云计算": "Cloud Computing", "互联网": "Internet", "科技": "Technology", "技术": "Technology",
    "网络": "Network", "智能": "Intelligent", "数据": "Data", "软件": "Software", "传媒": "Media",
    "教育": "Education", "数字": "Digital", "信息": "Information", "服务": "Services", "发展": "Development",
    "贸易": "Trading", "银行": "Bank", "金融": "Finance", "文化": "Culture", "传播": "Communication",
    "投资": "Investment", "控股": "Holdings", "电子": "Electronics", "通信": "Communications", "汽车": "Automobile",
}

# Maintained English names of major filers, by distinctive fragment of the legal name.
_KNOWN_NAMES: tuple[tuple[str, str], ...] = (
    ("北京百度网讯科技有限公司", "Beijing Baidu Netcom Science and Technology Co., Ltd. (Baidu)"),
    ("深圳市腾讯计算机系统有限公司", "Shenzhen Tencent Computer Systems Co., Ltd. (Tencent)"),
    ("阿里巴巴（中国）有限公司", "Alibaba (China) Co., Ltd."),
    ("北京抖音信息服务有限公司", "Beijing Douyin Information Service Co., Ltd. (ByteDance)"),
    ("北京字节跳动科技有限公司", "Beijing ByteDance Technology Co., Ltd."),
    ("科大讯飞股份有限公司", "iFlytek Co., Ltd."),
    ("北京智谱华章科技有限公司", "Zhipu AI (Beijing Zhipu Huazhang Technology Co., Ltd.)"),
    ("北京月之暗面科技有限公司", "Moonshot AI (Beijing Yuezhi Anmian Technology Co., Ltd.)"),
    ("杭州深度求索人工智能基础技术研究有限公司", "DeepSeek (Hangzhou DeepSeek Artificial Intelligence Co., Ltd.)"),
    ("上海稀宇科技有限公司", "MiniMax (Shanghai Xiyu Technology Co., Ltd.)"),
    ("北京三快科技有限公司", "Beijing Sankuai Technology Co., Ltd. (Meituan)"),
    ("北京快手科技有限公司", "Beijing Kuaishou Technology Co., Ltd."),
    ("网易有道信息技术（北京）有限公司", "NetEase Youdao Information Technology (Beijing) Co., Ltd."),
    ("华为技术有限公司", "Huawei Technologies Co., Ltd."),
    ("华为云计算技术有限公司", "Huawei Cloud Computing Technologies Co., Ltd."),
    ("小米科技有限责任公司", "Xiaomi Inc."),
    ("北京小米移动软件有限公司", "Beijing Xiaomi Mobile Software Co., Ltd."),
    ("上海寻梦信息技术有限公司", "Shanghai Xunmeng Information Technology Co., Ltd. (PDD)"),
    ("支付宝（杭州）数字服务技术有限公司", "Alipay (Hangzhou) Digital Service Technology Co., Ltd."),
    ("浙江天猫网络有限公司", "Zhejiang Tmall Network Co., Ltd. (Alibaba)"),
    ("商汤", "SenseTime"),
)

KIND_NAMES: dict[str, tuple[str, str]] = {
    "deep_synthesis": ("深度合成服务算法", "deep-synthesis algorithms"),
    "algorithm_recommendation": ("互联网信息服务算法", "recommendation algorithms"),
    "genai_service": ("生成式人工智能服务", "generative-AI services"),
}

GLOSSARY: dict[str, str] = {
    "服务提供者": "provider",
    "服务技术支持者": "technical supporter",
    "个性化推送类": "personalised push",
    "排序精选类": "ranking & selection",
    "检索过滤类": "search & filtering",
    "信息检索类": "information retrieval",
    "调度决策类": "scheduling & decision-making",
    "内容过滤类": "content filtering",
    "生成合成类": "generation & synthesis",
    "APP": "app",
    "网站": "website",
    "小程序": "mini program",
    "公众号": "public account",
    "公众账号": "public account",
    "其他": "other",
    "已注销": "cancelled",
    "深度合成": "deep synthesis",
    "算法推荐": "algorithm recommendation",
    "生成式人工智能": "generative AI",
    **PROVINCES_EN,
}

_ORG_SUFFIX = re.compile(r"(股份有限公司|有限责任公司|有限公司|集团|分公司)$")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


@lru_cache(maxsize=8192)
def big_tech_group(entity: str) -> BigTechGroup | None:
    """The big-tech group a filing entity belongs to, if any."""
    name = _norm(entity)
    for group in BIG_TECH:
        if any(pattern in name for pattern in group.patterns):
            return group
    return None


@lru_cache(maxsize=8192)
def foreign_filer(entity: str) -> ForeignFiler | None:
    """A foreign or foreign-invested filer from the maintained list, if any."""
    name = _norm(entity)
    for filer in FOREIGN:
        if any(pattern in name for pattern in filer.patterns):
            return filer
    return None


def province_en(zh: str | None) -> str:
    if not zh:
        return ""
    return PROVINCES_EN.get(zh, PROVINCES_EN.get(zh + "省", PROVINCES_EN.get(zh + "市", zh)))


def translate_term(zh: str) -> str:
    """Glossary lookup for roles, categories, product types, provinces; unknown terms unchanged."""
    return GLOSSARY.get(_norm(zh), zh)


_CN_DIGITS = "零一二三四五六七八九"


def _chinese_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    if n < 100:
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    return str(n)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def batch_label(n: int) -> tuple[str, str]:
    """(``第十六批``, ``16th batch``)."""
    return f"第{_chinese_number(n)}批", f"{_ordinal(n)} batch"


def _pinyin(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    words: list[str] = []
    for chunk in re.findall(r"[\u3400-\u9fff]+|[^\u3400-\u9fff]+", text):
        if re.match(r"[\u3400-\u9fff]", chunk):
            words.append("".join(lazy_pinyin(chunk, style=Style.NORMAL)).capitalize())
        elif chunk.strip():
            words.append(chunk.strip())
    return " ".join(words)


@lru_cache(maxsize=8192)
def english_name(entity: str) -> str:
    """An English rendering: the maintained name if known, else place + pinyin trade name + words."""
    name = _norm(entity)
    if not name:
        return ""
    for fragment, known in _KNOWN_NAMES:
        if _norm(fragment) in name:  # both sides NFKC: （北京） and (北京) are one name
            return known
    filer = foreign_filer(name)
    if filer is not None and _ORG_SUFFIX.search(name):
        return f"{filer.en} ({_render(name)})"
    return _render(name)


def _segment(text: str) -> list[str]:
    """Pinyin for the trade name, English for the known words peeled off its end."""
    tail: list[str] = []
    for _ in range(6):  # …信息科技有限公司
        if text in _WORDS:
            return [_WORDS[text], *tail]
        for word in sorted(_WORDS, key=len, reverse=True):
            if text.endswith(word) and len(text) > len(word):
                tail.insert(0, _WORDS[word])
                text = text[: -len(word)]
                break
        else:
            break
    if text in _WORDS:
        return [_WORDS[text], *tail]
    return ([_pinyin(text)] if text else []) + tail


def _render(name: str) -> str:
    parts: list[str] = []
    rest = name
    # A leading place: 北京…, 深圳市…
    for place in sorted(_PLACES, key=len, reverse=True):
        for prefix in (place + "市", place + "省", place):
            if rest.startswith(prefix) and len(rest) > len(prefix):
                parts.append(_PLACES[place])
                rest = rest[len(prefix) :]
                break
        else:
            continue
        break
    # A place in brackets: 图形起源（北京）科技有限公司 → … (Beijing) Technology …
    bracketed = ""
    match = re.search(r"[（(]([^）)]{1,6})[）)]", rest)
    if match and match.group(1).rstrip("省市") in _PLACES:
        bracketed = f"({_PLACES[match.group(1).rstrip('省市')]})"
        rest = rest[: match.start()] + "\x00" + rest[match.end() :]
    trade, _, after = rest.partition("\x00")
    parts.extend(_segment(trade))
    if bracketed:
        parts.append(bracketed)
    parts.extend(_segment(after))
    rendered = " ".join(p for p in parts if p)
    return re.sub(r"\s+", " ", rendered).strip() or name
