"""A larger generated replica of the CAC site, with the expected export computed from its data.

It mixes what cac-site.md describes beyond the 9 sample files: six deep-synthesis batches over
three channel pages (batch 1 without 第N批), look-alike announcements, a notice API that
lacks batch 1, in-place pages with docx, PDF and xlsx lists, a 9-cell merged header, columns
in another order, a list split over two tables, empty 序号, 、 inside brackets, a 22-digit
number, a number repeated in a later batch, GenAI lists with their 备案 and 登记 tables (docx, a PDF
flow with the 登记 header as a row, xlsx), a GenAI summary repeating earlier entries,
cancellations and renames in remarks.

``scale`` multiplies every list's rows and ``extra_lists`` adds further lists (two deep-synthesis
batches in Word for every GenAI list in PDF on the in-place page), for benchmarks/ingest.py:
``build_large_replica(root, scale=4, extra_lists=21)`` is 34 lists and ~6.9k filings.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from builders import DEEP_HEADER, GENAI_HEADER, GENAI_REGISTERED_HEADER, REC_HEADER, make_docx, make_genai_docx, make_genai_pdf, make_xlsx

__all__ = ["LargeReplica", "build_large_replica"]

PROVINCES = {"11": "北京市", "31": "上海市", "44": "广东省", "33": "浙江省", "42": "湖北省", "51": "四川省"}
# 属地 as GenAI lists write it (国资委: central SOEs, numbers ZhongYangQiYe-…) → the number's pinyin.
GENAI_PROVINCE_PINYIN = {"北京市": "Beijing", "上海市": "Shanghai", "广东省": "Guangdong", "浙江省": "ZheJiang", "国资委": "ZhongYangQiYe"}
ON_DEVICE_HEADER = ["序号", "属地", "模型名称", "备案单位", "备案编号", "适用场景", "备案时间"]
SCENARIOS = ["苹果手机", "华为手机", "小米手机", "OPPO手机", "vivo手机", "荣耀手机", "三星手机"]
CN_NUMBERS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
CATEGORIES = ["个性化推送类", "排序精选类", "检索过滤类", "调度决策类", "内容过滤类", "生成合成类"]


@dataclass
class LargeReplica:
    site: Path
    routes: Path
    expected: dict[tuple[str, str], dict] = field(default_factory=dict)


class _Site:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.routes: dict[str, dict] = {}
        self.counter = 0

    def page(self, path: str, html: str) -> None:
        file = self.root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(html, encoding="utf-8")
        self.routes[path] = {"file": path.lstrip("/"), "type": "text/html; charset=utf-8"}

    def attachment(self, name: str, data: bytes) -> str:
        self.counter += 1
        token = f"gen{self.counter:04d}~tok/{self.counter}"
        key = f"/cms/pub/interact/downloadfile.jsp?filepath={token}"
        file = self.root / "files" / f"gen{self.counter:04d}"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)
        self.routes[key] = {
            "file": f"files/gen{self.counter:04d}",
            "type": "application/octet-stream",
            "disposition": "attachment; filename*=UTF-8''" + quote(name),
        }
        return f"{key}&fText={quote(name)}"


def _article(title: str, date: str, links: list[tuple[str, str]]) -> str:
    body = "".join(f'<p>　　附件{i + 1}：<a href="{href}">{name}</a></p>' for i, (name, href) in enumerate(links))
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_中国网信网</title>'
        f'<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{date} 16:00"></head>'
        f'<body><div class="main"><div class="article"><h1 class="title">{title}</h1>'
        f'<div class="pages-date">{date} 16:00:00</div><div id="BodyLabel"><div class="TRS_Editor">'
        f"<p>　　现予公告。</p>{body}</div></div></div></div></body></html>"
    )


def _channel(items: list[tuple[str, str, str]], page: int, pages: int) -> str:
    lis = "".join(f'<li><h5><a href="{href}">{title}</a></h5><div class="times">{date}</div></li>' for title, href, date in items)
    nav = f'<a href="A093702index_{page + 1}.htm">下一页</a>' if page < pages else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>网信发布</title></head><body>'
        f'<div id="loadingInfoPage"><ul class="list">{lis}</ul></div><div id="Page">{nav}</div></body></html>'
    )


class _Filings:
    """Generates realistic rows and remembers what the export must say."""

    def __init__(self, rng: random.Random, *, unique: bool = False) -> None:
        self.rng = rng
        self.sequence = 100
        # Past 500 numbers per filer the 3-digit sequence wraps: a larger replica moves on to
        # another filer id instead of repeating numbers (the default one keeps its numbers).
        self.unique = unique
        self.entities = [
            (code, f"{city}{name}科技有限公司")
            for code, city, name in [
                ("110108", "北京", "星河智能"), ("310115", "上海", "云帆数字"), ("440305", "深圳市", "腾跃计算机系统"),
                ("330106", "杭州", "天穹网络"), ("420111", "武汉", "楚天信息"), ("510104", "成都", "锦城数智"),
                ("110105", "北京", "Kimi 智能"), ("440106", "广州", "羊城（广州）传媒"),
            ]
        ]
        self.records: dict[tuple[str, str], list[tuple[str, dict]]] = {}
        self.genai_sequence = 0  # GenAI numbers' 4-digit sequence runs on over the lists

    def number(self, region: str, entity_id: int, type_code: str, year: str) -> str:
        self.sequence += 2
        if self.unique:
            entity_id += 10 * (self.sequence // 1000)
        return f"网信算备{region}{entity_id:07d}{type_code}{year}{self.sequence % 1000:03d}{self.rng.choice('13579')}号"

    def remember(self, kind: str, month: str, record: dict) -> None:
        self.records.setdefault((kind, record["filing_number"]), []).append((month, record))

    def deep(self, month: str, count: int) -> list[list[str]]:
        rows = []
        for i in range(count):
            index = self.rng.randrange(len(self.entities))
            region, entity = self.entities[index]
            supporter = i % 4 == 3
            products = [] if supporter else [f"产品{i}（APP、网站）", f"助手{i}(小程序)"][: 1 + i % 2]
            number = self.number(region, 1000000 + index, "01", "23")
            remark = ""
            record = {
                "kind": "deep_synthesis", "filing_number": number, "name": f"合成算法{month}-{i}", "entity": entity,
                "role": "technical_supporter" if supporter else "provider", "category": None,
                "products": [p.replace("（", "(").replace("）", ")") for p in products],
                "purpose": f"应用于{month}场景，生成文本。", "province": PROVINCES[region[:2]],
                "remark": remark, "status": "active", "filed_on": None,
            }
            self.remember("deep_synthesis", month, record)
            rows.append(["" if i % 3 else str(i + 1), record["name"], "服务技术支持者" if supporter else "服务提供者",
                         entity, "、".join(products) or "--", record["purpose"], number, remark])
        return rows

    def recommendation(self, month: str, count: int) -> list[list[str]]:
        rows = []
        for i in range(count):
            index = self.rng.randrange(len(self.entities))
            region, entity = self.entities[index]
            category = CATEGORIES[i % len(CATEGORIES)]
            number = self.number(region, 2000000 + index, f"0{2 + i % 5}", "22")
            record = {
                "kind": "algorithm_recommendation", "filing_number": number, "name": f"推荐算法{month}-{i}",
                "entity": entity, "role": None, "category": category, "products": [f"应用{i}(APP)"],
                "purpose": "应用于信息推荐场景。", "province": PROVINCES[region[:2]], "remark": "", "status": "active",
                "filed_on": None,
            }
            self.remember("algorithm_recommendation", month, record)
            rows.append([str(i + 1), record["name"], category, entity, f"应用{i}（APP）", record["purpose"], number, ""])
        return rows

    def genai(
        self, month: str, count: int, *, registered: bool = False, sequence: bool = True, on_device: bool = False
    ) -> list[list]:
        """GenAI rows of the list of ``month`` as CAC lists them: filed (备案) services with
        ``…-YYYYMMDD`` (the first lists) or ``…-YYYYMMDDNNNN`` numbers, apps registered (登记)
        with ``…-YYYYMMDDSNNNN`` (every seventh one late: 登记时间 ``…（补登）``), or on-device
        services with their 适用场景; never dated after the list's own month. A row is
        ``[序号, 属地, name, filer, number, date, late, scenario]``."""
        year, mon = (int(part) for part in month.split("-"))
        end = dt.date(year + mon // 12, mon % 12 + 1, 1) - dt.timedelta(days=1)
        rows = []
        for i in range(count):
            province = list(GENAI_PROVINCE_PINYIN)[i % len(GENAI_PROVINCE_PINYIN)]
            day = end - dt.timedelta(days=(i * 3) % 110)
            self.genai_sequence += 1
            tail = f"S{self.genai_sequence:04d}" if registered else f"{self.genai_sequence:04d}" if sequence else ""
            name = f"{'应用' if registered else '大模型'}{month}-{i}"
            number = f"{GENAI_PROVINCE_PINYIN[province]}-{'App' if registered else 'Model'}{month.replace('-', '')}N{i}-{day:%Y%m%d}{tail}"
            entity = self.entities[i % len(self.entities)][1]
            late = registered and i % 7 == 3
            scenario = SCENARIOS[i % len(SCENARIOS)] if on_device else None
            record = {
                "kind": "genai_service", "filing_number": number, "name": name, "entity": entity,
                "role": None, "category": None, "products": [], "purpose": "", "province": province,
                "remark": "补登" if late else "", "status": "active", "filed_on": day.isoformat(),
                "registration": "registered" if registered else "filed", "scenario": scenario,
            }  # fmt: skip
            self.remember("genai_service", month, record)
            rows.append([str(i + 1), province, record["name"], entity, number, day, late, scenario])
        return rows

    def expected(self) -> dict[tuple[str, str], dict]:
        """interfaces.md: list_month of the first list, fields of the newest, cancelled if any says so."""
        result = {}
        for key, seen in self.records.items():
            seen = sorted(seen, key=lambda item: item[0])
            record = dict(seen[-1][1])
            record["list_month"] = seen[0][0]
            if any(r["status"] == "cancelled" for _, r in seen):
                record["status"] = "cancelled"
            result[key] = record
        return result


def _month_name(month: str) -> str:
    year, mon = month.split("-")
    return f"{year}年{int(mon)}月"


def _cn_number(n: int) -> str:
    """1-99 in Chinese numerals, as batch titles write them (第十一批, 第二十批)."""
    if n <= 10:
        return CN_NUMBERS[n]
    tens, ones = divmod(n, 10)
    return (CN_NUMBERS[tens] if tens > 1 else "") + "十" + (CN_NUMBERS[ones] if ones else "")


def _month_after(month: str, steps: int) -> str:
    year, mon = (int(part) for part in month.split("-"))
    index = year * 12 + mon - 1 + steps
    return f"{index // 12}-{index % 12 + 1:02d}"


def build_large_replica(root: Path, seed: int = 7, *, scale: int = 1, extra_lists: int = 0) -> LargeReplica:
    rng = random.Random(seed)
    site = _Site(root / "site")
    filings = _Filings(rng, unique=scale > 1 or extra_lists > 0)
    channel_items: list[tuple[str, str, str]] = []
    notices = []

    # Deep synthesis: six batches, each its own announcement on the channel.
    batches = [("2023-06", 41), ("2023-08", 30), ("2024-01", 45), ("2024-04", 38), ("2024-06", 25), ("2024-08", 33)]
    batches = [(month, count * scale) for month, count in batches]
    extra_deep = [_month_after("2025-07", i) for i in range(extra_lists - extra_lists // 3)]
    batches += [(month, 68 * scale) for month in extra_deep]
    repeated_row: list[str] | None = None
    for n, (month, count) in enumerate(batches, start=1):
        rows = filings.deep(month, count)
        if n == 2:
            # Cancelled and renamed filers, as CAC re-issues them.
            rows[0][7] = "已注销"
            filings.records[("deep_synthesis", rows[0][6])][-1][1].update(remark="已注销", status="cancelled")
            old, new = rows[1][3], "新主体（上海）科技有限公司"
            rows[1][3], rows[1][7] = new, f"原主体名称“{old}”变更为“{new}”"
            filings.records[("deep_synthesis", rows[1][6])][-1][1].update(entity=new, remark=rows[1][7])
            repeated_row = list(rows[2])
        if n == 3:
            # The 22-digit number (one digit too many after the filer id): kept as is.
            original = rows[0][6]
            rows[0][6] = original[:17] + "6" + original[17:]
            record = filings.records.pop(("deep_synthesis", original))[-1][1]
            record["filing_number"] = rows[0][6]
            filings.remember("deep_synthesis", month, record)
        if n == 6 and repeated_row is not None:
            # The same number again in a later batch, with a product change noted.
            repeated_row[7] = "变更内容：产品变更"
            rows.append(repeated_row)
            base = dict(filings.records[("deep_synthesis", repeated_row[6])][-1][1])
            base["remark"] = "变更内容：产品变更"
            filings.remember("deep_synthesis", month, base)
        name = f"境内深度合成服务算法备案清单（{_month_name(month)}）"
        header = list(DEEP_HEADER)
        kwargs: dict = {}
        if n == 4:
            kwargs["merged_header"] = True
        if n == 5:
            order = [0, 1, 3, 2, 6, 4, 5, 7]  # columns in another order: mapped by header text
            header = [header[i] for i in order]
            rows = [[row[i] for i in order] for row in rows]
        if n == 6:
            kwargs["split_at"] = 10
        href = site.attachment(name, make_docx(header, rows, title=name, **kwargs))
        title = "国家互联网信息办公室关于发布深度合成服务算法备案信息的公告" if n == 1 else (
            f"国家互联网信息办公室关于发布第{_cn_number(n)}批深度合成服务算法备案信息的公告"
        )
        date = f"{month}-20"
        path = f"/{month}/20/c_9{n:03d}.htm"
        site.page(path, _article(title, date, [(name, href)]))
        channel_items.append((title, path, date))
        if n > 1:
            notices.append({"noticeId": f"n{n}", "type": 3, "title": title[10:], "content": "{BASE}" + path, "createTime": f"{date} 16:00:00"})

    # Look-alikes on the channel: never lists.
    for i, title in enumerate([
        "国家互联网信息办公室关于发布第十二批境内区块链信息服务备案编号的公告",
        "国家互联网信息办公室关于发布第十一批互联网新闻信息服务单位许可信息的公告",
        "国家互联网信息办公室关于发布第四批境内生成式人工智能服务安全评估结果的说明",
        "国家互联网信息办公室关于发布深度合成服务算法备案有关问题的答记者问",
    ]):
        path = f"/2024-02/0{i + 1}/c_8{i:03d}.htm"
        site.page(path, _article(title, f"2024-02-0{i + 1}", []))
        channel_items.append((title, path, f"2024-02-0{i + 1}"))

    # Recommendation: one page updated in place, three lists.
    rec_links = []
    for month, count in [("2022-08", 30 * scale), ("2022-10", 25 * scale), ("2023-01", 40 * scale)]:
        name = f"境内互联网信息服务算法备案清单（{_month_name(month)}）"
        rec_links.append((name, site.attachment(name, make_docx(REC_HEADER, filings.recommendation(month, count), title=name))))
    rec_title = "国家互联网信息办公室关于发布互联网信息服务算法备案信息的公告"
    site.page("/2022-08/12/c_1661927474338504.htm", _article(rec_title, "2022-08-12", list(reversed(rec_links))))
    channel_items.append((rec_title, "/2022-08/12/c_1661927474338504.htm", "2022-08-12"))

    # GenAI: one page updated in place. The first list is one 备案 table (docx); later ones add the
    # 登记 table: in PDF as a header row in the same flow, in xlsx as a header row in the sheet.
    genai_links = []

    def dated(rows: list[list], scenario: bool = False) -> list[list]:
        """Rows as printed: the date as CAC writes it (with （补登） for a late registration)."""
        return [[*r[:5], *([r[7]] if scenario else []), f"{r[5]:%Y/%-m/%-d}" + ("（补登）" if r[6] else "")] for r in rows]

    docx_rows = filings.genai("2024-04", 20 * scale, sequence=False)
    name = f"生成式人工智能服务已备案信息（{_month_name('2024-04')}）"
    genai_links.append((name, site.attachment(name, make_docx(GENAI_HEADER, dated(docx_rows), title=name))))
    later_header = ["序号", "属地", "大模型名称", "备案单位", "备案编号", "备案时间"]
    both = "生成式人工智能服务已备案和已登记信息"
    pdf_filed, pdf_registered = filings.genai("2024-08", 45 * scale), filings.genai("2024-08", 15 * scale, registered=True)
    name = f"{both}（{_month_name('2024-08')}）"
    sections = [(later_header, dated(pdf_filed)), (GENAI_REGISTERED_HEADER, dated(pdf_registered))]
    genai_links.append((name, site.attachment(name, make_genai_pdf(sections, title=name))))
    xlsx_filed, xlsx_registered = filings.genai("2025-01", 15 * scale), filings.genai("2025-01", 10 * scale, registered=True)
    name = f"{both}（{_month_name('2025-01')}）"
    # Date cells as real dates, a late registration's as the text CAC writes.
    sheet = [r[:6] for r in xlsx_filed] + [GENAI_REGISTERED_HEADER] + [r[:6] if not r[6] else dated([r])[0] for r in xlsx_registered]
    genai_links.append((name, site.attachment(name, make_xlsx(later_header, sheet, title=name))))
    for i in range(extra_lists // 3):  # later GenAI lists in PDF, added to the same in-place page
        month = _month_after("2025-07", i)
        filed, registered = filings.genai(month, 35 * scale), filings.genai(month, 15 * scale, registered=True)
        name = f"{both}（{_month_name(month)}）"
        pdf = make_genai_pdf([(later_header, dated(filed)), (GENAI_REGISTERED_HEADER, dated(registered))], title=name)
        genai_links.append((name, site.attachment(name, pdf)))
    # From 2026-08 a third table of on-device services (适用场景), in Word: three tables.
    month = "2026-08"
    tables = [
        (later_header, dated(filings.genai(month, 12 * scale))),
        (GENAI_REGISTERED_HEADER, dated(filings.genai(month, 10 * scale, registered=True))),
        (ON_DEVICE_HEADER, dated(filings.genai(month, 7, on_device=True), scenario=True)),
    ]
    name = f"{both}（{_month_name(month)}）"
    genai_links.append((name, site.attachment(name, make_genai_docx(tables, title=name))))
    genai_title = "生成式人工智能服务已备案信息"
    site.page("/2024-04/02/c_1713729983803145.htm", _article(genai_title, "2024-04-02", list(reversed(genai_links))))
    channel_items.append((genai_title, "/2024-04/02/c_1713729983803145.htm", "2024-04-02"))

    # A GenAI summary announcement repeating earlier entries (not new filings) plus a few new ones.
    repeated = [list(r) for r in docx_rows[:8]]
    for row in repeated:
        key = ("genai_service", row[4])
        filings.remember("genai_service", "2025-06", dict(filings.records[key][-1][1]))
    fresh = filings.genai("2025-06", 5 * scale)
    summary_rows = [[str(i + 1), *r[1:5], f"{r[5]:%Y-%m-%d}"] for i, r in enumerate(repeated + fresh)]  # filed rows only
    name = f"生成式人工智能服务已备案信息（{_month_name('2025-06')}）"
    href = site.attachment(name, make_docx(GENAI_HEADER, summary_rows, title=name))
    summary_title = "国家互联网信息办公室关于发布生成式人工智能服务已备案信息的公告"
    site.page("/2025-06/30/c_7000.htm", _article(summary_title, "2025-06-30", [(name, href)]))
    channel_items.append((summary_title, "/2025-06/30/c_7000.htm", "2025-06-30"))

    # The channel: newest first, three pages.
    channel_items.sort(key=lambda item: item[2], reverse=True)
    per_page = max(6, -(-len(channel_items) // 3))  # three channel pages, larger replicas too
    pages = [channel_items[i : i + per_page] for i in range(0, len(channel_items), per_page)]
    for number, items in enumerate(pages, start=1):
        site.page(f"/wxzw/wxfb/A093702index_{number}.htm", _channel(items, number, len(pages)))

    api = root / "site" / "api-notice-list.json"
    api.write_text(json.dumps({"errno": 0, "errmsg": "", "datas": notices}, ensure_ascii=False), encoding="utf-8")
    site.routes["/api/notice/list"] = {"file": "api-notice-list.json", "type": "application/json;charset=UTF-8", "base_substitute": True}
    routes = root / "routes.json"
    routes.write_text(json.dumps(site.routes, ensure_ascii=False, indent=1), encoding="utf-8")
    return LargeReplica(site=root / "site", routes=routes, expected=filings.expected())
