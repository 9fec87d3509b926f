"""Maintained tables behind ``bot.changes.companies``: big-tech groups, foreign filers, English names.

Data only (the logic lives in ``bot.changes.companies``), kept in code rather than YAML so it is
type-checked, needs no package-data entry and loads with the import.

Patterns are regular expressions searched in the filer name after NFKC normalisation
(full-width brackets become ``(`` ``)``) with all whitespace removed. They are written for
PRECISION: a pattern that would also catch unrelated companies (三星医疗, 大众点评 for
Volkswagen, 京东方 for JD, 上海金山区 firms for Kingsoft…) is anchored or narrowed, and a
brand that cannot be told apart by name is left out rather than guessed. Add subsidiaries as
they appear in the lists; ``tests/test_companies.py`` scores both tables against the hand-labelled
filers of ``tests/data/company_labels.tsv`` (precision must stay 1.0; docs/companies.md).
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "GroupSpec",
    "ForeignSpec",
    "BIG_TECH_SPECS",
    "FOREIGN_SPECS",
    "QUERY_NAMES",
    "ENGLISH_NAMES",
    "TRADE_NAMES",
    "INDUSTRY_WORDS",
    "ORG_SUFFIXES",
    "PLACES",
    "PROVINCES_EN",
]


class GroupSpec(NamedTuple):
    key: str
    zh: str
    en: str
    patterns: tuple[str, ...]  # regexes over the normalised filer name
    aliases: tuple[str, ...] = ()  # other English spellings a watchlist may use
    names: tuple[tuple[str, str], ...] = ()  # zh → en, used to render THIS group's names only


class ForeignSpec(NamedTuple):
    key: str
    zh: str
    en: str
    country: str  # home country, in English
    patterns: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    names: tuple[tuple[str, str], ...] = ()


# --- places -----------------------------------------------------------------------------------

# Provinces (full and short names) and major cities, longest first when matched.
PROVINCES_EN: Final[dict[str, str]] = {
    "北京市": "Beijing",
    "天津市": "Tianjin",
    "河北省": "Hebei",
    "山西省": "Shanxi",
    "内蒙古自治区": "Inner Mongolia",
    "辽宁省": "Liaoning",
    "吉林省": "Jilin",
    "黑龙江省": "Heilongjiang",
    "上海市": "Shanghai",
    "江苏省": "Jiangsu",
    "浙江省": "Zhejiang",
    "安徽省": "Anhui",
    "福建省": "Fujian",
    "江西省": "Jiangxi",
    "山东省": "Shandong",
    "河南省": "Henan",
    "湖北省": "Hubei",
    "湖南省": "Hunan",
    "广东省": "Guangdong",
    "广西壮族自治区": "Guangxi",
    "海南省": "Hainan",
    "重庆市": "Chongqing",
    "四川省": "Sichuan",
    "贵州省": "Guizhou",
    "云南省": "Yunnan",
    "西藏自治区": "Tibet",
    "陕西省": "Shaanxi",
    "甘肃省": "Gansu",
    "青海省": "Qinghai",
    "宁夏回族自治区": "Ningxia",
    "新疆维吾尔自治区": "Xinjiang",
    # Not among the 31, but the region codes exist and a filer may name them.
    "台湾省": "Taiwan",
    "香港特别行政区": "Hong Kong",
    "澳门特别行政区": "Macao",
}

_SHORT_PROVINCES: Final[dict[str, str]] = {
    "北京": "Beijing", "天津": "Tianjin", "河北": "Hebei", "山西": "Shanxi", "内蒙古": "Inner Mongolia",
    "辽宁": "Liaoning", "吉林": "Jilin", "黑龙江": "Heilongjiang", "上海": "Shanghai", "江苏": "Jiangsu",
    "浙江": "Zhejiang", "安徽": "Anhui", "福建": "Fujian", "江西": "Jiangxi", "山东": "Shandong",
    "河南": "Henan", "湖北": "Hubei", "湖南": "Hunan", "广东": "Guangdong", "广西": "Guangxi",
    "海南": "Hainan", "重庆": "Chongqing", "四川": "Sichuan", "贵州": "Guizhou", "云南": "Yunnan",
    "西藏": "Tibet", "陕西": "Shaanxi", "甘肃": "Gansu", "青海": "Qinghai", "宁夏": "Ningxia",
    "新疆": "Xinjiang", "台湾": "Taiwan", "香港": "Hong Kong", "澳门": "Macao",
}

_CITIES: Final[dict[str, str]] = {
    "深圳": "Shenzhen", "广州": "Guangzhou", "杭州": "Hangzhou", "南京": "Nanjing", "苏州": "Suzhou",
    "成都": "Chengdu", "武汉": "Wuhan", "西安": "Xi'an", "厦门": "Xiamen", "福州": "Fuzhou",
    "泉州": "Quanzhou", "晋江": "Jinjiang", "合肥": "Hefei", "长沙": "Changsha", "郑州": "Zhengzhou",
    "济南": "Jinan", "青岛": "Qingdao", "大连": "Dalian", "沈阳": "Shenyang", "哈尔滨": "Harbin",
    "长春": "Changchun", "石家庄": "Shijiazhuang", "太原": "Taiyuan", "呼和浩特": "Hohhot",
    "南昌": "Nanchang", "南宁": "Nanning", "海口": "Haikou", "三亚": "Sanya", "贵阳": "Guiyang",
    "昆明": "Kunming", "拉萨": "Lhasa", "兰州": "Lanzhou", "西宁": "Xining", "银川": "Yinchuan",
    "乌鲁木齐": "Urumqi", "宁波": "Ningbo", "温州": "Wenzhou", "绍兴": "Shaoxing", "嘉兴": "Jiaxing",
    "金华": "Jinhua", "义乌": "Yiwu", "台州": "Taizhou", "湖州": "Huzhou", "无锡": "Wuxi",
    "常州": "Changzhou", "南通": "Nantong", "徐州": "Xuzhou", "扬州": "Yangzhou", "佛山": "Foshan",
    "东莞": "Dongguan", "珠海": "Zhuhai", "中山": "Zhongshan", "惠州": "Huizhou", "汕头": "Shantou",
    "长治": "Changzhi", "大同": "Datong", "洛阳": "Luoyang", "烟台": "Yantai", "潍坊": "Weifang",
    "威海": "Weihai", "淄博": "Zibo", "临沂": "Linyi", "芜湖": "Wuhu", "宜昌": "Yichang",
    "襄阳": "Xiangyang", "株洲": "Zhuzhou", "湘潭": "Xiangtan", "绵阳": "Mianyang", "宜宾": "Yibin",
    "遵义": "Zunyi", "柳州": "Liuzhou", "桂林": "Guilin", "雄安": "Xiong'an", "滨海新区": "Binhai New Area",
}

# Place → English for prefixes and bracketed places: full names, short names, cities with and
# without 市, and 中国 (as in 阿里巴巴（中国）有限公司).
PLACES: Final[dict[str, str]] = {
    **PROVINCES_EN,
    **_SHORT_PROVINCES,
    **{f"{name}省": en for name, en in _SHORT_PROVINCES.items() if f"{name}省" not in PROVINCES_EN},
    **_CITIES,
    **{f"{name}市": en for name, en in {**_CITIES, **_SHORT_PROVINCES}.items()},
    "中国": "China",
    "中华人民共和国": "People's Republic of China",
}


# --- big-tech groups --------------------------------------------------------------------------
# Operating companies of a group often carry none of its brands (北京三快 = Meituan, 上海寻梦 =
# Pinduoduo, 北京微梦创科 = Weibo, 广州市动景 = UCWeb/Quark): those are listed by their exact
# trade names. Ant Group, Alibaba Pictures (淘票票, 大麦) and UCWeb are counted with Alibaba, Tencent
# Music (酷狗, 酷我, 懒人听书) with Tencent, iQIYI with Baidu, Qunar with Trip.com, as the press does.
BIG_TECH_SPECS: Final[tuple[GroupSpec, ...]] = (
    GroupSpec(
        "alibaba",
        "阿里巴巴",
        "Alibaba",
        (
            "阿里巴巴", "阿里云", "阿里健康", "阿里妈妈", "^钉钉", "钉钉\\(中国\\)", "淘宝(?!贝)", "天猫", "淘天",
            "^优酷", "优酷信息技术", "高德软件", "高德图强", "饿了么", "拉扎斯", "^(广州市?)?动景计算机", "夸克(浏览器|智能)",
            "蚂蚁(科技|集团|智信|胜信|区块链|金服|财富|消费金融|云|商诚|融信)", "支付宝", "菜鸟(网络|物流|供应链|驿站|智能)",
            "^口碑\\(", "淘票票", "^北京大麦文化", "^(浙江)?闲鱼", "^(浙江)?点淘", "盒马", "飞猪(网络|旅行)",
            "^(北京)?友盟", "斑马智行",
            # Operating companies named after none of the brands: 天猫精灵 (Tmall Genie), 飞猪 (Fliggy),
            # 口碑 (Koubei) and 医鹿 (Alibaba Health) as they file.
            "^(浙江)?艾克斯精灵", "^(杭州)?淘美航空", "^(杭州)?口口相传网络", "^(杭州)?康淘信息",
        ),
        ("alibaba group", "alibaba cloud", "aliyun", "ant group", "alipay", "taobao", "tmall", "dingtalk"),
        (
            ("阿里巴巴", "Alibaba"), ("阿里云", "Alibaba Cloud"), ("阿里健康", "Alibaba Health"),
            ("阿里妈妈", "Alimama"), ("达摩院", "DAMO Academy"), ("淘宝", "Taobao"), ("天猫", "Tmall"),
            ("钉钉", "DingTalk"), ("优酷", "Youku"), ("高德", "AutoNavi"), ("饿了么", "Ele.me"),
            ("拉扎斯", "Rajax"), ("动景", "UCWeb"), ("夸克", "Quark"), ("蚂蚁", "Ant"), ("支付宝", "Alipay"),
            ("菜鸟", "Cainiao"), ("口碑", "Koubei"), ("淘票票", "Taopiaopiao"), ("大麦", "Damai"),
            ("闲鱼", "Xianyu"), ("点淘", "Diantao"), ("盒马", "Freshippo"), ("飞猪", "Fliggy"),
        ),
    ),
    GroupSpec(
        "tencent",
        "腾讯",
        "Tencent",
        ("腾讯", "财付通", "^(广州)?酷狗", "^(北京)?酷我", "^(深圳市?)?懒人在线", "^(上海)?阅文", "^(北京)?搜狗"),
        ("tencent holdings", "wechat", "weixin", "qq"),
        (("腾讯", "Tencent"), ("财付通", "Tenpay"), ("酷狗", "Kugou"), ("酷我", "Kuwo"), ("阅文", "China Literature"),
         ("搜狗", "Sogou"), ("懒人", "Lanren")),
    ),
    GroupSpec(
        "baidu",
        "百度",
        "Baidu",
        ("百度", "^(北京|上海)?小度", "爱奇艺"),
        ("iqiyi", "xiaodu"),
        (("百度", "Baidu"), ("网讯", "Netcom"), ("小度", "Xiaodu"), ("爱奇艺", "iQIYI")),
    ),
    GroupSpec(
        "bytedance",
        "字节跳动",
        "ByteDance",
        (
            "字节跳动", "字跳", "^(北京|上海|海南|成都|武汉|广州|深圳)?抖音", "今日头条", "火山引擎", "春田知韵",
            "^(北京)?飞书", "微播视界", "^(深圳市?)?脸萌", "巨量引擎", "有竹居", "朝夕光年", "懂车帝",
        ),
        ("byte dance", "douyin", "tiktok", "toutiao", "volcano engine", "volcengine", "doubao", "feishu", "lark", "capcut"),
        (
            ("字节跳动", "ByteDance"), ("字跳", "Zitiao"), ("抖音", "Douyin"), ("今日头条", "Toutiao"),
            ("火山引擎", "Volcano Engine"), ("飞书", "Feishu"), ("巨量引擎", "Ocean Engine"), ("懂车帝", "Dongchedi"),
        ),
    ),
    GroupSpec(
        "meituan",
        "美团",
        "Meituan",
        ("美团", "^(北京|上海)?三快(科技|在线|省心购|信息)", "^上海汉涛信息咨询", "大众点评"),
        ("dianping",),
        (("美团", "Meituan"), ("三快", "Sankuai"), ("汉涛", "Hantao"), ("大众点评", "Dianping")),
    ),
    GroupSpec(
        "jd",
        "京东",
        "JD.com",
        ("(?<![北南])京东(?!方)", "京邦达", "网银在线"),
        ("jd", "jingdong", "jd com"),
        (("京东", "JD"), ("京邦达", "Jingbangda")),
    ),
    GroupSpec("kuaishou", "快手", "Kuaishou", ("快手",), ("kwai",), (("快手", "Kuaishou"),)),
    GroupSpec(
        "netease",
        "网易",
        "NetEase",
        ("网易",),
        ("youdao", "netease youdao", "netease cloud music"),
        (("网易", "NetEase"), ("有道", "Youdao"), ("雷火", "Leihuo")),
    ),
    GroupSpec(
        "iflytek",
        "科大讯飞",
        "iFlytek",
        ("科大讯飞", "(?<![通资电])讯飞"),
        ("iflytek", "i flytek", "xunfei"),
        (("科大讯飞", "iFlytek"), ("讯飞", "iFlytek")),
    ),
    GroupSpec("sensetime", "商汤", "SenseTime", ("商汤",), ("sense time",), (("商汤", "SenseTime"),)),
    GroupSpec(
        "xiaomi",
        "小米",
        "Xiaomi",
        # 美卓软件设计（北京）is Xiaomi's: it files Xiaomi's on-device models (小米端侧文本, 小米澎湃图像).
        ("^(北京|上海|武汉|南京|深圳|广州|天津|珠海)?(市)?小米(?!粒)", "^美卓软件设计"),
        ("mi",),
        (("小米", "Xiaomi"),),
    ),
    GroupSpec("huawei", "华为", "Huawei", ("华为",), ("huawei cloud",), (("华为", "Huawei"),)),
    GroupSpec(
        "pinduoduo",
        "拼多多",
        "PDD (Pinduoduo)",
        ("拼多多", "^上海寻梦信息技术"),
        ("pinduoduo", "pdd", "pdd holdings", "temu"),
        (("拼多多", "Pinduoduo"), ("寻梦", "Xunmeng")),
    ),
    GroupSpec("baichuan", "百川智能", "Baichuan", ("百川智能",), ("baichuan ai",), (("百川", "Baichuan"),)),
    GroupSpec("zhipu", "智谱", "Zhipu AI", ("智谱",), ("zhipu", "zhipu ai", "chatglm"), (("智谱", "Zhipu"),)),
    GroupSpec("moonshot", "月之暗面", "Moonshot AI", ("月之暗面",), ("moonshot", "kimi"), (("月之暗面", "Moonshot"),)),
    GroupSpec("minimax", "MiniMax", "MiniMax", ("稀宇",), ("mini max", "xiyu"), ()),
    GroupSpec("deepseek", "深度求索", "DeepSeek", ("深度求索",), ("deep seek",), (("深度求索", "DeepSeek"),)),
    GroupSpec(
        "qihoo360",
        "三六零",
        "360",
        ("三六零", "奇虎"),
        ("qihoo", "qihoo 360", "360 security"),
        (("三六零", "360"), ("奇虎", "Qihoo")),
    ),
    GroupSpec(
        "bilibili",
        "哔哩哔哩",
        "Bilibili",
        ("哔哩哔哩", "^上海幻电", "^上海宽娱数码"),
        ("bili bili",),
        (("哔哩哔哩", "Bilibili"), ("幻电", "Huandian"), ("宽娱", "Kuanyu")),
    ),
    GroupSpec(
        "weibo",
        "新浪/微博",
        "Weibo/Sina",
        ("微博(?!士)", "新浪(?!潮)", "微梦创科"),
        ("weibo", "sina", "sina weibo"),
        (("微博", "Weibo"), ("新浪", "Sina"), ("微梦创科", "Weimeng Chuangke")),
    ),
    GroupSpec(
        "tripcom",
        "携程",
        "Trip.com (Ctrip)",
        ("携程", "去哪儿", "^(北京)?趣拿信息"),
        ("trip com", "tripcom", "ctrip", "qunar"),
        (("携程", "Ctrip"), ("去哪儿", "Qunar")),
    ),
    GroupSpec(
        "kingsoft",
        "金山",
        "Kingsoft",
        ("金山(办公|云|软件|数字|网络技术|世纪)", "^珠海金山"),
        ("kingsoft office", "wps"),
        (("金山办公", "Kingsoft Office"), ("金山云", "Kingsoft Cloud"), ("金山软件", "Kingsoft Software"),
         ("金山数字", "Kingsoft Digital"), ("金山", "Kingsoft")),
    ),
    GroupSpec(
        "china_mobile",
        "中国移动",
        "China Mobile",
        ("中国移动", "^中移", "咪咕"),
        ("cmcc",),
        (("中国移动", "China Mobile"), ("中移", "China Mobile"), ("咪咕", "Migu")),
    ),
    GroupSpec(
        "china_telecom",
        "中国电信",
        "China Telecom",
        ("中国电信", "中电信", "^天翼"),
        ("chinatelecom", "tianyi", "ctyun"),
        (("中国电信", "China Telecom"), ("中电信", "China Telecom"), ("天翼", "Tianyi")),
    ),
    GroupSpec(
        "china_unicom",
        "中国联通",
        "China Unicom",
        ("中国联通", "中国联合网络通信", "^联通"),
        ("unicom", "chinaunicom"),
        (("中国联通", "China Unicom"), ("联通", "Unicom")),
    ),
    GroupSpec(
        "oppo",
        "OPPO",
        "OPPO",
        ("(?i)(?<![a-z])oppo(?![a-z])", "^(深圳市?)?欢太"),
        ("heytap",),
        (("欢太", "HeyTap"),),
    ),
    GroupSpec("vivo", "vivo", "vivo", ("(?i)^vivo(?![a-z])", "维沃移动"), (), (("维沃", "vivo"),)),
    GroupSpec("honor", "荣耀", "Honor", ("^(深圳)?荣耀(终端|软件|技术|智能)",), (), (("荣耀", "Honor"),)),
    GroupSpec("lenovo", "联想", "Lenovo", ("^(北京|上海|深圳|武汉)?联想",), (), (("联想", "Lenovo"),)),
    GroupSpec(
        "xiaohongshu",
        "小红书",
        "Xiaohongshu (RedNote)",
        ("小红书", "^行吟信息科技"),
        ("rednote", "red note", "little red book"),
        (("小红书", "Xiaohongshu"), ("行吟", "Xingyin")),
    ),
)


# --- foreign and foreign-invested filers ------------------------------------------------------
# A foreign company's China entity files under the name its approval gave it: the brand FIRST,
# then plain business words, a bracketed place and the organisation type — 苹果技术开发（上海）有限公司,
# 安利（中国）日用品有限公司, 三星电子（苏州）半导体有限公司. (字号+行业+（行政区划）, with no leading
# place, is the form reserved for foreign-invested and nationally registered companies.) Domestic
# look-alikes differ in exactly that: a place or other words come first (上海苹果树教育科技, 西安利源,
# XX宝马汽车销售服务 dealers) or the brand runs on into another word (苹果树, 大众点评, 高通量, 三星电子商务).
#
# So a brand that is also an ordinary word (苹果 apple, 安利 recommend, 大众 the public, 三星 three stars,
# 高通 high-throughput, 本田/丰田 given names, 现代 modern, 松下 under the pines, 宜家 home-friendly) only
# matches in that whole-name form (``_entity``), with the words that company really uses, plus its
# joint ventures by their exact names (华晨宝马, 上汽大众, 一汽-大众, 广汽丰田…). A transliteration no one
# else uses (星巴克, 沃尔玛, 英特尔, 欧莱雅) matches anywhere, with look-behinds where a known domestic
# name contains it (上海优惠普 is not HP). Car brands are anchored too: the many XX宝马/XX奔驰 dealers are
# Chinese firms.
#
# "Foreign" means a foreign company's China subsidiary OR a Sino-foreign joint venture that carries
# the foreign brand (华晨宝马 BMW Brilliance, 北京奔驰, 上汽大众, 一汽-大众, 广汽丰田…): the finding calls
# them "foreign and foreign-invested filers". Brands whose China business now belongs to a Chinese
# owner are NOT foreign (家乐福 Carrefour China → Suning, 麦德龙 Metro China → Wumei, 沃尔沃汽车 Volvo Cars
# → Geely, 小冰 Xiaoice spun out of Microsoft) and are not listed.

# Places a subsidiary brackets: 中国 and every province and city the renderer knows.
_PLACE = "(?:" + "|".join(sorted((p for p in PLACES if p != "中华人民共和国"), key=len, reverse=True)) + ")"
_CN = f"\\({_PLACE}\\)"
_END = "(?:股份有限公司|有限责任公司|有限公司|公司)(?:.+分公司)?$"


def _entity(brand: str, words: str) -> str:
    """The whole name is brand + business words + (place) + business words + organisation type.

    ``words`` is an alternation of the words that company's entities use around the bracket
    (电脑|贸易|技术|开发…): a word outside it (苹果树, 三星电子商务) means another company.
    """
    run = f"(?:{words})*"
    return f"^(?:中国)?{brand}{run}{_CN}{run}{_END}"


# Business words common to most subsidiaries' names; brands that are ordinary words get narrower lists.
_BUSINESS = (
    "中国|投资|贸易|商贸|商业|销售|零售|采购|运营|管理|企业管理|咨询|服务|技术|科技|开发|研发|研究开发|研究|信息|"
    "软件|电子|电脑|网络|通信|系统|数据|数字|物流|供应链|控股|汽车|工业|制造|生产|设备|产品|日用品|食品|饮料|"
    "体育|用品|家居|餐饮|医疗|医药|制药|健康|营养|化妆品|半导体|显示|光电|电器|电机|能源|中心|研发中心"
)

FOREIGN_SPECS: Final[tuple[ForeignSpec, ...]] = (
    # -- technology
    ForeignSpec("hp", "惠普", "HP", "United States", ("(?<![优实])惠普",), ("hewlett packard", "hewlett-packard", "hp inc")),
    ForeignSpec("hpe", "慧与", "Hewlett Packard Enterprise", "United States", (_entity("慧与", _BUSINESS),), ("hpe",)),
    ForeignSpec("microsoft", "微软", "Microsoft", "United States", ("微软(?!件)",), ("msft", "bing", "copilot")),
    ForeignSpec(
        "apple", "苹果", "Apple", "United States",
        (
            _entity("苹果", "电脑|电子产品|电子|技术|开发|研发|贸易|商贸|采购|运营|管理|企业管理|服务|技术服务|咨询|投资|零售"),
            "^苹果公司$",
        ),
        ("apple inc", "apple china"),
    ),
    ForeignSpec(
        "samsung", "三星", "Samsung", "South Korea",
        (
            _entity("三星", "电子|半导体|显示|通信|通信技术|技术|研究|研究开发|研发|投资|贸易|商贸|管理|服务|数据系统|SDS|电机|物产|视界"),
            # Place-named ones, by their exact names (a 三星电子商务 of the same city is somebody else).
            "^北京三星通信技术研究", "^(天津|苏州|深圳|西安|惠州|上海)三星(电子(?!商务)|半导体|通信|电机|视界|数据)",
        ),
        ("samsung electronics",),
    ),
    ForeignSpec("intel", "英特尔", "Intel", "United States", ("英特尔",)),
    ForeignSpec("amd", "超威半导体", "AMD", "United States", ("超威半导体",), ("advanced micro devices",), (("超威半导体", "AMD"),)),
    ForeignSpec("micron", "美光", "Micron", "United States", (_entity("美光", "半导体|科技|技术|存储|贸易|研发|投资|管理|服务"),)),
    # 德州 is also Dezhou (Shandong): a 德州仪器仪表厂 is not Texas Instruments.
    ForeignSpec("ti", "德州仪器", "Texas Instruments", "United States", (_entity("德州仪器", "半导体|技术|贸易|投资|管理|服务|研发|制造|中国|国际"),)),
    ForeignSpec("ibm", "IBM", "IBM", "United States", ("(?i)(?<![a-z])ibm(?![a-z])", "国际商业机器"), ("international business machines",)),
    ForeignSpec("amazon", "亚马逊", "Amazon", "United States", ("^亚马逊", "亚马逊(通技术|网络服务|云)", "亚马逊" + _CN, "^北京世纪卓越信息技术"), ("aws", "amazon web services")),
    ForeignSpec("google", "谷歌", "Google", "United States", ("^谷歌", "谷歌信息技术", "谷歌" + _CN, "(?i)google"), ("alphabet",)),
    ForeignSpec("meta", "Meta", "Meta", "United States", ("(?i)meta platforms", "脸书"), ("facebook",)),
    ForeignSpec("adobe", "奥多比", "Adobe", "United States", ("奥多比", "(?i)adobe")),
    ForeignSpec("nvidia", "英伟达", "NVIDIA", "United States", ("英伟达", "(?i)nvidia")),
    ForeignSpec(
        "qualcomm", "高通", "Qualcomm", "United States",
        (_entity("高通", "无线|通信|技术|半导体|企业管理|投资|研发|软件|电子|贸易|服务|管理|咨询"),),
        (), (("高通无线", "Qualcomm Wireless"),),
    ),
    ForeignSpec("dell", "戴尔", "Dell", "United States", (_entity("戴尔", _BUSINESS), "^戴尔科技", "^戴尔$")),
    ForeignSpec("oracle", "甲骨文", "Oracle", "United States", ("^甲骨文" + _CN, "甲骨文(软件|系统)", "(?i)oracle")),
    ForeignSpec("cisco", "思科", "Cisco", "United States", ("思科系统", "^思科" + _CN, "(?i)cisco")),
    ForeignSpec("sap", "思爱普", "SAP", "Germany", ("思爱普", "(?i)(?<![a-z])sap(?![a-z])")),
    ForeignSpec("autodesk", "欧特克", "Autodesk", "United States", ("欧特克",)),
    ForeignSpec("ericsson", "爱立信", "Ericsson", "Sweden", ("爱立信",)),
    ForeignSpec("nokia", "诺基亚", "Nokia", "Finland", ("诺基亚",), (), (("诺基亚贝尔", "Nokia Shanghai Bell"),)),
    ForeignSpec("linkedin", "领英", "LinkedIn", "United States", ("领英",), ("linked in",)),
    ForeignSpec("zoom", "Zoom", "Zoom", "United States", ("(?i)(?<![a-z])zoom(?![a-z])",), ("zoom video",)),
    ForeignSpec("airbnb", "爱彼迎", "Airbnb", "United States", ("爱彼迎", "安彼迎")),
    ForeignSpec("sony", "索尼", "Sony", "Japan", ("索尼",)),
    ForeignSpec(
        "panasonic", "松下", "Panasonic", "Japan",
        (
            _entity("松下", "电器|家用电器|电子|电子部品|电工|电机|家电|住建|冷链|能源|系统|信息|投资|贸易|管理|研发|研究开发|技术|服务|制造|半导体|电池|照明"),
            "^松下电器",
        ),
        (), (("松下电器", "Panasonic"),),
    ),
    ForeignSpec("canon", "佳能", "Canon", "Japan", ("^佳能" + _CN, "^佳能(\\(|中国|信息|医疗|珠海|大连|苏州)")),
    ForeignSpec("nikon", "尼康", "Nikon", "Japan", ("尼康",)),
    ForeignSpec("epson", "爱普生", "Epson", "Japan", ("爱普生",)),
    ForeignSpec("fujifilm", "富士胶片", "Fujifilm", "Japan", ("富士胶片",)),
    ForeignSpec("ricoh", "理光", "Ricoh", "Japan", ("理光",)),
    ForeignSpec("toshiba", "东芝", "Toshiba", "Japan", ("东芝",)),
    ForeignSpec("hitachi", "日立", "Hitachi", "Japan", ("^日立" + _CN, "日立(\\(|电梯|信息|数据|ABB)")),
    ForeignSpec("fujitsu", "富士通", "Fujitsu", "Japan", ("富士通",)),
    ForeignSpec("sharp", "夏普", "Sharp", "Japan", ("^夏普" + _CN, "夏普(商贸|电子|办公)")),
    ForeignSpec("nintendo", "任天堂", "Nintendo", "Japan", ("任天堂",)),
    ForeignSpec("ubisoft", "育碧", "Ubisoft", "France", ("育碧",)),
    ForeignSpec("lg", "LG", "LG", "South Korea", ("^LG", "乐金"), ("lg electronics",), (("乐金", "LG"),)),
    ForeignSpec("philips", "飞利浦", "Philips", "Netherlands", ("飞利浦",)),
    ForeignSpec(
        "siemens", "西门子", "Siemens", "Germany",
        # Leading place allowed (上海西门子医疗器械), but not the repair shops that borrow the name.
        (f"^{_PLACE}?西门子(?!.*(维修|售后|服务部|经营部|经销))",),
    ),
    ForeignSpec("bosch", "博世", "Bosch", "Germany", ("^博世", "博世(\\(|汽车|力士乐|家电|华域|电动工具)")),
    ForeignSpec("abb", "ABB", "ABB", "Switzerland", ("^ABB",)),
    ForeignSpec("schneider", "施耐德", "Schneider Electric", "France", ("施耐德电气", "^施耐德" + _CN)),
    ForeignSpec("honeywell", "霍尼韦尔", "Honeywell", "United States", ("霍尼韦尔",)),
    # -- cars (anchored: dealers named after the brand are Chinese firms)
    ForeignSpec("tesla", "特斯拉", "Tesla", "United States", ("^特斯拉",)),
    ForeignSpec(
        "bmw", "宝马", "BMW", "Germany",
        (_entity("宝马", "汽车|汽车贸易|汽车金融|贸易|投资|服务|管理|信息科技|科技|技术|研发|销售|融资租赁|金融"), "^华晨宝马"),
        (), (("华晨宝马", "BMW Brilliance"),),
    ),
    ForeignSpec(
        "mercedes", "梅赛德斯-奔驰", "Mercedes-Benz", "Germany",
        ("^梅赛德斯", "^戴姆勒", "^(北京|福建)奔驰", "^奔驰" + _CN),
        ("mercedes benz", "daimler", "benz"),
        (("梅赛德斯-奔驰", "Mercedes-Benz"), ("梅赛德斯", "Mercedes"), ("奔驰", "Benz"), ("戴姆勒", "Daimler")),
    ),
    ForeignSpec(
        "volkswagen", "大众", "Volkswagen", "Germany",
        (_entity("大众汽车", _BUSINESS + "|金融|自动变速器"), "^大众汽车" + _CN, "^上汽大众", "^一汽-?大众", "^大众" + _CN),
        ("vw",),
        (("大众汽车", "Volkswagen"), ("上汽大众", "SAIC Volkswagen"), ("一汽-大众", "FAW-Volkswagen"),
         ("一汽大众", "FAW-Volkswagen"), ("大众", "Volkswagen")),
    ),
    ForeignSpec("audi", "奥迪", "Audi", "Germany", (_entity("奥迪", _BUSINESS), "^(一汽|上汽)奥迪")),
    ForeignSpec("porsche", "保时捷", "Porsche", "Germany", ("^保时捷",)),
    ForeignSpec(
        "toyota", "丰田", "Toyota", "Japan",
        (
            _entity("丰田", "汽车|通商|纺织|工业|自动织机|投资|研发|研究开发|贸易|销售|管理|服务|物流|金融|汽车金融|生产|制造|技术"),
            "^(四川|天津)?一汽丰田", "^广汽丰田", "^丰田汽车", "^丰田通商", "^雷克萨斯",
        ),
        (),
        (("丰田汽车", "Toyota Motor"), ("一汽丰田", "FAW Toyota"), ("广汽丰田", "GAC Toyota"), ("雷克萨斯", "Lexus")),
    ),
    ForeignSpec(
        "honda", "本田", "Honda", "Japan",
        (
            _entity("本田", "技研工业|技研|汽车|动力|摩托|摩托车|发动机|生产|贸易|投资|研发|研究开发|管理|服务|零部件|制造|销售"),
            "^广汽本田", "^东风本田", "^五羊-?本田", "^本田技研",
        ),
        (),
        (("本田技研工业", "Honda Motor"), ("广汽本田", "GAC Honda"), ("东风本田", "Dongfeng Honda"), ("五羊-本田", "Wuyang-Honda")),
    ),
    ForeignSpec("nissan", "日产", "Nissan", "Japan", ("^日产汽车", "^(东风|郑州)日产", "^日产" + _CN)),
    ForeignSpec("mazda", "马自达", "Mazda", "Japan", ("^马自达", "^(长安|一汽)马自达")),
    ForeignSpec(
        "hyundai", "现代", "Hyundai", "South Korea", ("^(北京|四川)?现代汽车", "^现代摩比斯", "^现代" + _CN),
        (), (("北京现代", "Beijing Hyundai"), ("现代汽车", "Hyundai Motor"), ("现代", "Hyundai")),
    ),
    ForeignSpec("kia", "起亚", "Kia", "South Korea", ("^(江苏|东风)?(悦达)?起亚",), (), (("悦达起亚", "Yueda Kia"),)),
    ForeignSpec("ford", "福特", "Ford", "United States", ("^福特汽车", "^(长安|江铃)福特", "^福特" + _CN)),
    ForeignSpec("gm", "通用汽车", "General Motors", "United States", ("^通用汽车", "^上汽通用"), ("gm",)),
    ForeignSpec("michelin", "米其林", "Michelin", "France", ("米其林",)),
    # -- consumer brands, food, retail
    ForeignSpec(
        "amway", "安利", "Amway", "United States",
        (_entity("安利", "日用品|研发中心|植物研发中心|研发|研究|开发|投资|贸易|商贸|服务|管理|企业管理|营养|健康|化妆品|中心|植物"),),
        (), (("安利", "Amway"),),
    ),
    ForeignSpec("herbalife", "康宝莱", "Herbalife", "United States", ("康宝莱",)),
    ForeignSpec("nike", "耐克", "Nike", "United States", (_entity("耐克", "体育|体育用品|商业|贸易|用品|运动|管理|服务|物流|科技|技术|研发|体育用品"),)),
    ForeignSpec("adidas", "阿迪达斯", "Adidas", "Germany", ("阿迪达斯",)),
    ForeignSpec("hm", "海恩斯莫里斯", "H&M", "Sweden", ("海恩斯莫里斯",), ("h&m", "h m", "hennes mauritz")),
    ForeignSpec("inditex", "飒拉", "Inditex (Zara)", "Spain", ("^飒拉",), ("zara",)),
    ForeignSpec("uniqlo", "优衣库", "Uniqlo (Fast Retailing)", "Japan", ("优衣库", "迅销(\\(|商贸)")),
    ForeignSpec("lvmh", "路威酩轩", "LVMH", "France", ("路威酩轩",)),
    # Anchored: beauty salons and furniture shops borrow these names.
    ForeignSpec("chanel", "香奈儿", "Chanel", "France", ("^香奈儿",)),
    ForeignSpec("hermes", "爱马仕", "Hermes", "France", ("^爱马仕",), ("hermès",)),
    ForeignSpec("loreal", "欧莱雅", "L'Oreal", "France", ("欧莱雅",), ("loreal", "l oreal", "l'oréal")),
    ForeignSpec("esteelauder", "雅诗兰黛", "Estee Lauder", "United States", ("雅诗兰黛",), ("estée lauder",)),
    ForeignSpec("shiseido", "资生堂", "Shiseido", "Japan", ("资生堂",)),
    ForeignSpec("unilever", "联合利华", "Unilever", "United Kingdom", ("联合利华",)),
    ForeignSpec("pg", "宝洁", "Procter & Gamble", "United States", ("宝洁",), ("p&g", "p g", "procter and gamble")),
    ForeignSpec("3m", "3M", "3M", "United States", ("^3M",)),
    ForeignSpec("lego", "乐高", "LEGO", "Denmark", (_entity("乐高", "玩具|贸易|商贸|管理|企业管理|投资|服务|咨询|文化|科技"),)),
    ForeignSpec("disney", "迪士尼", "Disney", "United States", ("迪士尼",), ("walt disney",)),
    ForeignSpec("starbucks", "星巴克", "Starbucks", "United States", ("星巴克",)),
    ForeignSpec(
        "mcdonalds", "麦当劳", "McDonald's", "United States", ("麦当劳", "金拱门"), ("mcdonalds", "golden arches"),
        (("麦当劳", "McDonald's"), ("金拱门", "Golden Arches")),
    ),
    ForeignSpec(
        "yum", "百胜", "Yum China (KFC)", "United States",
        (_entity("百胜", "咨询|餐饮|中国|投资|管理|企业管理|服务|贸易|物流|食品"), "^百胜中国", f"^{_PLACE}?(肯德基|必胜客)"),
        ("yum", "kfc", "pizza hut", "yum china"),
        (("百胜", "Yum"), ("肯德基", "KFC"), ("必胜客", "Pizza Hut")),
    ),
    ForeignSpec("cocacola", "可口可乐", "Coca-Cola", "United States", ("可口可乐",), ("coca cola", "coke")),
    ForeignSpec("pepsico", "百事", "PepsiCo", "United States", ("^百事(\\(|食品|饮料|可乐|亚洲)",), ("pepsi",)),
    ForeignSpec("nestle", "雀巢", "Nestle", "Switzerland", ("雀巢",), ("nestlé",)),
    ForeignSpec("mars", "玛氏", "Mars", "United States", ("玛氏",)),
    ForeignSpec("mondelez", "亿滋", "Mondelez", "United States", (_entity("亿滋", "食品|贸易|投资|管理|企业管理|服务|中国"),)),
    ForeignSpec("walmart", "沃尔玛", "Walmart", "United States", ("沃尔玛", "山姆会员"), ("wal-mart", "sam's club")),
    ForeignSpec("costco", "开市客", "Costco", "United States", ("开市客",)),
    ForeignSpec(
        "ikea", "宜家", "IKEA", "Sweden",
        (
            _entity("宜家", "家居|贸易|商贸|购物中心|购物|商业|电子商务|投资|管理|企业管理|服务|零售|采购|物流|供应链|家具"),
            # The stores: 上海宜家家居有限公司 (a 宜家居 is not IKEA).
            f"^{_PLACE}宜家家居{_END}",
        ),
    ),
    ForeignSpec("visa", "维萨", "Visa", "United States", ("^维萨" + _CN, "维萨信息")),
    ForeignSpec("mastercard", "万事达", "Mastercard", "United States", ("万事达卡", "万事网联")),
    ForeignSpec("yamaha", "雅马哈", "Yamaha", "Japan", ("雅马哈",)),
    # -- pharma and health
    ForeignSpec("pfizer", "辉瑞", "Pfizer", "United States", ("辉瑞",)),
    ForeignSpec("astrazeneca", "阿斯利康", "AstraZeneca", "United Kingdom", ("阿斯利康",)),
    ForeignSpec("bayer", "拜耳", "Bayer", "Germany", ("拜耳",)),
    ForeignSpec("basf", "巴斯夫", "BASF", "Germany", ("巴斯夫",)),
    ForeignSpec("novartis", "诺华", "Novartis", "Switzerland", (_entity("诺华", "制药|医药|投资|管理|企业管理|研发|生物医学研究|服务|贸易"), "^北京诺华")),
    ForeignSpec("roche", "罗氏", "Roche", "Switzerland", (_entity("罗氏", "诊断|诊断产品|制药|医药|投资|管理|研发|服务|贸易"), "^上海罗氏")),
    ForeignSpec("sanofi", "赛诺菲", "Sanofi", "France", ("赛诺菲(?!尔)",)),
    ForeignSpec("gsk", "葛兰素史克", "GSK", "United Kingdom", ("葛兰素史克",), ("glaxosmithkline",)),
    ForeignSpec("msd", "默沙东", "MSD (Merck & Co.)", "United States", ("默沙东",), ("merck sharp dohme",)),
    ForeignSpec("lilly", "礼来", "Eli Lilly", "United States", (_entity("礼来", "制药|医药|投资|管理|研发|贸易|服务"), "^礼来苏州")),
    ForeignSpec("novonordisk", "诺和诺德", "Novo Nordisk", "Denmark", ("诺和诺德",)),
    ForeignSpec("jnj", "强生", "Johnson & Johnson", "United States", (_entity("强生", "医疗|医疗器材|制药|投资|管理|研发|贸易|服务|视力健"), "^西安杨森"), ("j&j", "johnson and johnson")),
    # -- services and finance
    ForeignSpec("accenture", "埃森哲", "Accenture", "Ireland", ("埃森哲",)),
    ForeignSpec("deloitte", "德勤", "Deloitte", "United Kingdom", ("德勤(华永|咨询|企业管理|财务|\\()",)),
    ForeignSpec("pwc", "普华永道", "PwC", "United Kingdom", ("普华永道",), ("pricewaterhousecoopers",)),
    ForeignSpec("kpmg", "毕马威", "KPMG", "Netherlands", ("毕马威",)),
    ForeignSpec("hsbc", "汇丰", "HSBC", "United Kingdom", ("汇丰银行", "^汇丰" + _CN, "^汇丰(软件|环球|晋信)")),
    ForeignSpec("standardchartered", "渣打", "Standard Chartered", "United Kingdom", ("渣打",)),
    ForeignSpec("citi", "花旗", "Citi", "United States", ("花旗银行", "^花旗" + _CN, "^花旗(软件|金融)"), ("citibank", "citigroup")),
    ForeignSpec("jpmorgan", "摩根大通", "JPMorgan Chase", "United States", ("摩根大通",), ("jp morgan", "j.p. morgan")),
)


# --- what people type for a company -------------------------------------------------------------
# Words that name a group or a foreign company in a watch, a search or a filter, beyond its own
# zh/en name, key and English aliases: Chinese short names and the brands people know it by
# (字节跳动 files as 北京抖音信息服务有限公司; 淘宝 is Alibaba's). A query resolves to a company only
# when it IS one of these words (after folding width, case and spaces), never when it merely
# contains one or is contained in one: "支付" must not pull in all of Alibaba. A brand that
# several companies share, or a word that is also an ordinary one, is left out.
QUERY_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "alibaba": (
        "阿里", "阿里集团", "阿里巴巴集团", "阿里云", "通义", "通义千问", "淘宝", "淘宝网", "天猫", "淘天", "支付宝", "蚂蚁",
        "蚂蚁集团", "蚂蚁金服", "钉钉", "优酷", "高德", "高德地图", "饿了么", "闲鱼", "盒马", "飞猪",
        "UC浏览器", "淘票票", "大麦网", "点淘", "达摩院", "Tongyi", "Qwen", "Youku", "AutoNavi", "Amap", "Eleme",
        "Ele.me", "Cainiao", "Xianyu", "Fliggy", "Freshippo", "UCWeb",
    ),
    "tencent": (
        "腾讯集团", "腾讯控股", "微信", "企业微信", "QQ", "腾讯云", "腾讯视频", "腾讯混元",
        "腾讯元宝", "财付通", "酷狗", "酷狗音乐", "酷我", "酷我音乐", "阅文", "搜狗", "懒人听书",
        "Tencent Cloud", "Hunyuan", "Yuanbao", "Kugou", "Kuwo", "Sogou", "Tenpay",
    ),
    "baidu": ("百度集团", "百度网讯", "文心", "文心一言", "文心大模型", "小度", "爱奇艺", "Ernie Bot", "Wenxin"),
    "bytedance": (
        "字节", "字节跳动集团", "抖音", "抖音集团", "今日头条", "火山引擎", "飞书", "豆包", "剪映", "西瓜视频",
        "懂车帝", "巨量引擎", "TikTok", "Doubao", "Jianying",
    ),
    "meituan": ("美团网", "大众点评", "美团点评", "三快", "Dianping"),
    "jd": ("京东集团", "京东商城", "京东科技", "京东物流", "京东健康"),
    "kuaishou": ("快手科技", "可灵", "Kling"),
    "netease": ("网易集团", "网易有道", "有道", "网易云音乐", "网易游戏", "雷火"),
    "iflytek": ("讯飞", "讯飞星火"),
    "sensetime": ("商汤科技", "日日新"),
    "xiaomi": ("小米集团", "小爱同学"),
    "huawei": ("华为云", "华为技术"),
    "pinduoduo": ("拼多多集团", "多多买菜", "Temu"),
    "zhipu": ("智谱AI", "智谱华章", "智谱清言"),
    "moonshot": ("Kimi",),
    "minimax": ("稀宇", "稀宇科技", "海螺AI"),
    "deepseek": ("DeepSeek",),
    "qihoo360": ("360", "奇虎", "奇虎360", "360集团"),
    "bilibili": ("B站", "哔哩哔哩", "bilibili"),
    "weibo": ("微博", "新浪", "新浪微博", "Sina"),
    "tripcom": ("携程网", "去哪儿", "去哪儿网", "Qunar"),
    "kingsoft": ("金山办公", "金山云", "WPS"),
    "china_mobile": ("中移", "咪咕"),
    "china_telecom": ("天翼",),
    "china_unicom": ("联通",),
    "oppo": ("欢太",),
    "vivo": ("维沃",),
    "honor": ("荣耀",),
    "lenovo": ("联想",),
    "xiaohongshu": ("小红书", "行吟"),
    "hp": ("惠普", "惠普公司", "HP Inc.", "Hewlett Packard"),
    "microsoft": ("微软", "必应"),
    "apple": ("苹果公司", "苹果中国", "Apple China", "Apple Intelligence"),
    "samsung": ("三星电子", "三星集团"),
    "ikea": ("宜家家居",),
    "volkswagen": ("大众汽车", "上汽大众", "一汽大众", "一汽-大众"),
    "mercedes": ("奔驰", "梅赛德斯", "北京奔驰"),
    "bmw": ("华晨宝马",),
    "yum": ("肯德基", "必胜客", "百胜中国"),
    "mcdonalds": ("金拱门",),
    "amazon": ("亚马逊", "亚马逊云"),
    "google": ("谷歌",),
}


# --- English names ----------------------------------------------------------------------------
# Exact filer names whose official English name the rules would not produce. Keys are written
# as they appear in the lists (full-width brackets); lookups normalise both sides.
ENGLISH_NAMES: Final[dict[str, str]] = {
    "北京百度网讯科技有限公司": "Beijing Baidu Netcom Science and Technology Co., Ltd.",
    "百度在线网络技术（北京）有限公司": "Baidu Online Network Technology (Beijing) Co., Ltd.",
    "深圳市腾讯计算机系统有限公司": "Shenzhen Tencent Computer Systems Co., Ltd.",
    "腾讯科技（深圳）有限公司": "Tencent Technology (Shenzhen) Co., Ltd.",
    "阿里巴巴（中国）有限公司": "Alibaba (China) Co., Ltd.",
    "阿里云计算有限公司": "Alibaba Cloud Computing Co., Ltd.",
    "蚂蚁科技集团股份有限公司": "Ant Group Co., Ltd.",
    "北京抖音信息服务有限公司": "Beijing Douyin Information Service Co., Ltd.",
    "北京字节跳动科技有限公司": "Beijing ByteDance Technology Co., Ltd.",
    "科大讯飞股份有限公司": "iFlytek Co., Ltd.",
    "上海商汤智能科技有限公司": "Shanghai SenseTime Intelligent Technology Co., Ltd.",
    "北京市商汤科技开发有限公司": "Beijing SenseTime Technology Development Co., Ltd.",
    "杭州深度求索人工智能基础技术研究有限公司": "Hangzhou DeepSeek Artificial Intelligence Basic Technology Research Co., Ltd.",
    "华为技术有限公司": "Huawei Technologies Co., Ltd.",
    "华为云计算技术有限公司": "Huawei Cloud Computing Technologies Co., Ltd.",
    "华为软件技术有限公司": "Huawei Software Technologies Co., Ltd.",
    "华为终端有限公司": "Huawei Device Co., Ltd.",
    "小米科技有限责任公司": "Xiaomi Inc.",
    "青岛海尔智家股份有限公司": "Haier Smart Home Co., Ltd.",
    "长沙芒果超媒股份有限公司": "Mango Excellent Media Co., Ltd.",
    "中国电信股份有限公司": "China Telecom Corporation Limited",
    "中国联合网络通信集团有限公司": "China United Network Communications Group Co., Ltd.",
    "北京金山办公软件股份有限公司": "Beijing Kingsoft Office Software, Inc.",
    "上海稀宇科技有限公司": "Shanghai Xiyu Technology Co., Ltd. (MiniMax)",
    "北京月之暗面科技有限公司": "Beijing Moonshot AI Technology Co., Ltd.",
    "广州市动景计算机科技有限公司": "Guangzhou UCWeb Computer Technology Co., Ltd.",
    "北京三快科技有限公司": "Beijing Sankuai Technology Co., Ltd. (Meituan)",
    "北京三快在线科技有限公司": "Beijing Sankuai Online Technology Co., Ltd. (Meituan)",
    "上海寻梦信息技术有限公司": "Shanghai Xunmeng Information Technology Co., Ltd. (Pinduoduo)",
    "上海拉扎斯信息科技有限公司": "Rajax Network Technology (Shanghai) Co., Ltd. (Ele.me)",
    "上海汉涛信息咨询有限公司": "Shanghai Hantao Information Consulting Co., Ltd. (Dianping)",
    "北京微梦创科网络技术有限公司": "Beijing Weimeng Chuangke Network Technology Co., Ltd. (Weibo)",
    "北京智者天下科技有限公司": "Beijing Zhizhe Tianxia Technology Co., Ltd. (Zhihu)",
    "北京豆网科技有限公司": "Beijing Douwang Technology Co., Ltd. (Douban)",
    "北京趣拿信息技术有限公司": "Beijing Quna Information Technology Co., Ltd. (Qunar)",
    "行吟信息科技（上海）有限公司": "Xingyin Information Technology (Shanghai) Co., Ltd. (Xiaohongshu)",
    "上海宽娱数码科技有限公司": "Shanghai Kuanyu Digital Technology Co., Ltd. (Bilibili)",
    "上海幻电信息科技有限公司": "Shanghai Huandian Information Technology Co., Ltd. (Bilibili)",
    "上海任意门科技有限公司": "Shanghai Renyimen Technology Co., Ltd. (Soul)",
    "北京红棉小冰科技有限公司": "Beijing Hongmian Xiaoice Technology Co., Ltd.",
    "万兴科技（湖南）有限公司": "Wondershare Technology (Hunan) Co., Ltd.",
    "深圳市欢太科技有限公司": "Shenzhen HeyTap Technology Co., Ltd. (OPPO)",
    "同程网络科技股份有限公司": "Tongcheng Network Technology Co., Ltd.",
    "云从科技集团股份有限公司": "CloudWalk Technology Co., Ltd.",
    "云知声智能科技股份有限公司": "Unisound AI Technology Co., Ltd.",
    "出门问问信息科技有限公司": "Mobvoi Information Technology Co., Ltd.",
    "思必驰科技股份有限公司": "AISpeech Co., Ltd.",
    "达闼机器人股份有限公司": "CloudMinds Robotics Co., Ltd.",
    "深信服科技股份有限公司": "Sangfor Technologies Inc.",
    "昆仑万维科技股份有限公司": "Beijing Kunlun Tech Co., Ltd.",
    "东方财富信息股份有限公司": "East Money Information Co., Ltd.",
    "福建网龙计算机网络信息技术有限公司": "Fujian NetDragon Computer Network Information Technology Co., Ltd.",
    "惠普贸易（上海）有限公司": "HP Trading (Shanghai) Co., Ltd.",
    "微软（中国）有限公司": "Microsoft (China) Co., Ltd.",
    "三星（中国）投资有限公司": "Samsung (China) Investment Co., Ltd.",
    # Foreign and joint-venture filers whose own English name the rules would not produce (the
    # rules already give 苹果技术开发（上海）有限公司 → Apple Technology Development (Shanghai) Co., Ltd.).
    "苹果技术开发（上海）有限公司": "Apple Technology Development (Shanghai) Co., Ltd.",
    "苹果电脑贸易（上海）有限公司": "Apple Computer Trading (Shanghai) Co., Ltd.",
    "宜家电子商务（中国）有限公司": "IKEA E-Commerce (China) Co., Ltd.",
    "安利（中国）日用品有限公司": "Amway (China) Co., Ltd.",
    "西门子（中国）有限公司": "Siemens Ltd., China",
    "松下电器（中国）有限公司": "Panasonic Corporation of China",
    "高通无线通信技术（中国）有限公司": "Qualcomm Wireless Communication Technologies (China) Limited",
    "华晨宝马汽车有限公司": "BMW Brilliance Automotive Ltd.",
    "北京奔驰汽车有限公司": "Beijing Benz Automotive Co., Ltd.",
    "上汽大众汽车有限公司": "SAIC Volkswagen Automotive Co., Ltd.",
    "一汽-大众汽车有限公司": "FAW-Volkswagen Automotive Co., Ltd.",
    "广汽丰田汽车有限公司": "GAC Toyota Motor Co., Ltd.",
    "可口可乐（中国）饮料有限公司": "Coca-Cola (China) Beverages Ltd.",
}

# Trade-name fragments → English, used while rendering any filer name. Only fragments that mean
# the same company wherever they occur; ambiguous brands (三星, 现代, 大众, 金山…) are rendered
# only for filers that the group/foreign tables above identify (their ``names``).
TRADE_NAMES: Final[dict[str, str]] = {
    "阿里巴巴": "Alibaba",
    "腾讯": "Tencent",
    "百度": "Baidu",
    "字节跳动": "ByteDance",
    "抖音": "Douyin",
    "今日头条": "Toutiao",
    "美团": "Meituan",
    "京东方": "BOE",  # longest match first: never "JD Fang"
    "京东": "JD",
    "快手": "Kuaishou",
    "网易": "NetEase",
    "科大讯飞": "iFlytek",
    "讯飞": "iFlytek",
    "商汤": "SenseTime",
    "华为": "Huawei",
    "拼多多": "Pinduoduo",
    "智谱": "Zhipu",
    "月之暗面": "Moonshot",
    "深度求索": "DeepSeek",
    "三六零": "360",
    "奇虎": "Qihoo",
    "哔哩哔哩": "Bilibili",
    "新浪": "Sina",
    "微博": "Weibo",
    "携程": "Ctrip",
    "去哪儿": "Qunar",
    "中国移动": "China Mobile",
    "中国电信": "China Telecom",
    "中电信": "China Telecom",
    "中国联通": "China Unicom",
    "中移": "China Mobile",
    "咪咕": "Migu",
    "天猫": "Tmall",
    "淘宝": "Taobao",
    "支付宝": "Alipay",
    "钉钉": "DingTalk",
    "优酷": "Youku",
    "爱奇艺": "iQIYI",
    "搜狐": "Sohu",
    "搜狗": "Sogou",
    "海尔": "Haier",
    "海信": "Hisense",
    "美图网": "Meitu",
    "美图": "Meitu",
    "小红书": "Xiaohongshu",
    "知乎": "Zhihu",
    "豆瓣": "Douban",
    "斗鱼": "Douyu",
    "虎牙": "Huya",
    "同花顺": "Hithink RoyalFlush",
    "东方财富": "East Money",
    "苏宁": "Suning",
    "唯品会": "Vipshop",
    "得物": "Dewu",
    "喜马拉雅": "Ximalaya",
    "网龙": "NetDragon",
    "万兴": "Wondershare",
    "昆仑万维": "Kunlun Tech",
    "云从": "CloudWalk",
    "云知声": "Unisound",
    "出门问问": "Mobvoi",
    "思必驰": "AISpeech",
    "达闼": "CloudMinds",
    "深信服": "Sangfor",
    "拓尔思": "TRS",
    "星环": "Transwarp",
    "好未来": "TAL",
    "途牛": "Tuniu",
    "汽车之家": "Autohome",
    "车之家": "Autohome",
    "贝壳找房": "Beike",
    "芒果超媒": "Mango Excellent Media",
    "快乐阳光": "Happy Sunshine",
    "酷狗": "Kugou",
    "酷我": "Kuwo",
    "荣耀": "Honor",
    "联想": "Lenovo",
    "小米": "Xiaomi",
    "比亚迪": "BYD",
    "蔚来": "NIO",
    "小鹏": "Xpeng",
    "吉利": "Geely",
    "上汽": "SAIC",
    "一汽": "FAW",
    "广汽": "GAC",
    "中国科学院": "Chinese Academy of Sciences",
    "中科院": "Chinese Academy of Sciences",
    "清华大学": "Tsinghua University",
    "北京大学": "Peking University",
    "浙江大学": "Zhejiang University",
    "复旦大学": "Fudan University",
    "上海交通大学": "Shanghai Jiao Tong University",
    "中国人民大学": "Renmin University of China",
    # Foreign brands are rendered from FOREIGN_SPECS, only for filers those patterns identify
    # (耐克森 is Nexans, not "Nike Sen"); these few cannot be mistaken.
    "微软": "Microsoft",
    "英特尔": "Intel",
    "英伟达": "NVIDIA",
    "奥多比": "Adobe",
    "思爱普": "SAP",
    "国际商业机器": "International Business Machines",
    "招商银行": "China Merchants Bank",
    "中国工商银行": "Industrial and Commercial Bank of China",
    "中国建设银行": "China Construction Bank",
    "中国农业银行": "Agricultural Bank of China",
    "中国银行": "Bank of China",
    "交通银行": "Bank of Communications",
    "清华": "Tsinghua",
}

# Words peeled off the END of a name segment, longest first, in Chinese order (科技信息 →
# "Technology Information"). Single characters are left out on purpose: too many trade names
# end in 云, 网, 新… and would lose a syllable.
INDUSTRY_WORDS: Final[dict[str, str]] = {
    "人工智能": "Artificial Intelligence",
    # Words foreign subsidiaries' names use (苹果电脑贸易, 安利（中国）研发中心, 可口可乐（中国）饮料).
    "医疗器械": "Medical Devices",
    "研究开发": "R&D",
    "研发中心": "R&D Center",
    "日用品": "Daily Necessities",
    "采购": "Procurement",
    "运营": "Operations",
    "销售": "Sales",
    "经营": "Operating",
    "电脑": "Computer",
    "饮料": "Beverages",
    "咖啡": "Coffee",
    "无线": "Wireless",
    "设计": "Design",
    "行业": "Industry",
    "信息技术": "Information Technology",
    "网络技术": "Network Technology",
    "计算机系统": "Computer Systems",
    "电子商务": "E-Commerce",
    "文化传媒": "Culture & Media",
    "文化传播": "Culture Communication",
    "互动娱乐": "Interactive Entertainment",
    "信息服务": "Information Services",
    "信息咨询": "Information Consulting",
    "技术服务": "Technical Services",
    "企业管理": "Enterprise Management",
    "金融服务": "Financial Services",
    "电子产品": "Electronic Products",
    "新技术": "New Technology",
    "自动化": "Automation",
    "新材料": "New Materials",
    "电子设备": "Electronic Equipment",
    "旅行服务": "Travel Services",
    "航空服务": "Aviation Services",
    "网络安全": "Cybersecurity",
    "影视文化": "Film & Television Culture",
    "物联网": "IoT",
    "云计算": "Cloud Computing",
    "大数据": "Big Data",
    "互联网": "Internet",
    "计算机": "Computer",
    "机器人": "Robotics",
    "半导体": "Semiconductor",
    "房地产": "Real Estate",
    "区块链": "Blockchain",
    "供应链": "Supply Chain",
    "科技": "Technology",
    "技术": "Technology",
    "信息": "Information",
    "网络": "Network",
    "智能": "Intelligent",
    "数据": "Data",
    "数字": "Digital",
    "数码": "Digital",
    "软件": "Software",
    "系统": "Systems",
    "计算": "Computing",
    "传媒": "Media",
    "传播": "Communication",
    "文化": "Culture",
    "教育": "Education",
    "服务": "Services",
    "发展": "Development",
    "开发": "Development",
    "贸易": "Trading",
    "商贸": "Trading",
    "商务": "Business",
    "银行": "Bank",
    "保险": "Insurance",
    "证券": "Securities",
    "金融": "Finance",
    "投资": "Investment",
    "控股": "Holdings",
    "咨询": "Consulting",
    "管理": "Management",
    "广告": "Advertising",
    "营销": "Marketing",
    "物流": "Logistics",
    "医疗": "Medical",
    "健康": "Health",
    "医药": "Pharmaceutical",
    "汽车": "Automobile",
    "电子": "Electronics",
    "通信": "Communications",
    "通讯": "Communications",
    "移动": "Mobile",
    "电器": "Electric Appliances",
    "电气": "Electric",
    "电缆": "Cable",
    "材料": "Materials",
    "化工": "Chemical",
    "娱乐": "Entertainment",
    "互动": "Interactive",
    "游戏": "Games",
    "音乐": "Music",
    "视频": "Video",
    "视觉": "Vision",
    "影视": "Film & Television",
    "语音": "Speech",
    "研究": "Research",
    "研发": "R&D",
    "基础": "Basic",
    "创新": "Innovation",
    "实业": "Industrial",
    "工业": "Industrial",
    "制造": "Manufacturing",
    "设备": "Equipment",
    "产品": "Products",
    "旅游": "Tourism",
    "航空": "Aviation",
    "出版": "Publishing",
    "新闻": "News",
    "体育": "Sports",
    "能源": "Energy",
    "安全": "Security",
    "应用": "Applications",
    "平台": "Platform",
    "零售": "Retail",
    "餐饮": "Catering",
    "电商": "E-Commerce",
    "在线": "Online",
    "集团": "Group",
}

# Organisation types at the END of a name, longest first. 股份有限公司 (a joint-stock company) is
# rendered "Co., Ltd." like 有限公司: that is what most such companies call themselves in English
# (科大讯飞股份有限公司 = iFlytek Co., Ltd.), and "(joint-stock)" would only add noise.
ORG_SUFFIXES: Final[tuple[tuple[str, str], ...]] = (
    ("集团股份有限公司", "Group Co., Ltd."),
    ("集团有限责任公司", "Group Co., Ltd."),
    ("集团有限公司", "Group Co., Ltd."),
    ("股份有限公司", "Co., Ltd."),
    ("有限责任公司", "Co., Ltd."),
    ("合伙企业(有限合伙)", "LP"),
    ("(有限合伙)", "LP"),
    ("有限公司", "Co., Ltd."),
    ("股份公司", "Co., Ltd."),
    ("集团公司", "Group Corporation"),
    ("总公司", "Corporation"),
    ("研究院", "Research Institute"),
    ("研究所", "Research Institute"),
    ("研究中心", "Research Center"),
    ("实验室", "Laboratory"),
    ("工作室", "Studio"),
    ("事务所", "Firm"),
    ("经营部", "Business Department"),
    ("委员会", "Committee"),
    ("基金会", "Foundation"),
    ("协会", "Association"),
    ("医院", "Hospital"),
    ("大学", "University"),
    ("学院", "College"),
    ("中心", "Center"),
    ("集团", "Group"),
    ("公司", "Company"),
)
