"""The notice on the wall (接种注意事项, "每个接种点至少张贴一张"): what a site prints, generated from the
rules in force so the poster always matches them — the campaign phases open today (who may be vaccinated
now), the question set in force (who must not, who must wait), the products in use with their schedules and
consent texts, what to bring, common reactions, the site's hours and its paired hospital's phone, and a QR
opening the booking page for the site. ``notice_facts`` gathers the data; the HTML page and the PDF
(``notice_pdf``) lay it out."""

import datetime as dt
import io
import re
from collections.abc import Iterable

import segno
from django.urls import reverse

from vaxops.catalog import domain as catalog
from vaxops.catalog.selectors import catalogue_current, phases_current, question_set_on
from vaxops.clinic.models import ConsentText
from vaxops.core.errors import VaxOpsError
from vaxops.registry.models import PriorityGroup
from vaxops.safety.models import SitePairing
from vaxops.sites.models import Site

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# What to bring is not in the consent texts (they say what the vaccine does, who must not have it, what may
# follow and what the person agrees to), so it stays here.
# Seed: "请将身份证带到所在村(社区)预约登记"; "接种前要详细阅读知情同意书".
TO_BRING = (
    "本人有效身份证件（身份证、户口簿、护照等）",
    "预约短信或预约码（已预约者）",
    "佩戴口罩，保持一米间距",
    "既往疫苗接种凭证（已接种过的剂次）",
)

# The common reactions come from the consent texts in force (``reactions_from_consents``), so the poster says
# what the person signs; these are said only when no text in force has a section on reactions.
# Seed (篇八): "一般接种后24小时内,注射部位可能出现疼痛、触痛、红肿和瘙痒,多数情况下于2-3天内自行消失;接种疫苗后
# 可能出现一过性发热反应、疲劳乏力,短期内自行消失,无需处理。"
REACTIONS = (
    "接种后24小时内，注射部位可能出现疼痛、触痛、红肿和瘙痒，多数于2—3天内自行消失",
    "可能出现一过性发热、疲劳乏力，短期内自行消失，一般无需处理",
    "接种后须在留观区留观30分钟，无异常方可离开",
    "如出现持续高热、呼吸困难、皮疹等严重不适，请立即告知工作人员或到对口医院就诊",
)


_SECTION = re.compile(r"^[一二三四五六七八九十]+、")


def reactions_from_consents(texts: Iterable[str]) -> list[str]:
    """The reactions the consent texts tell the person about: the body of each text's numbered section whose
    heading names them (``三、可能出现的不良反应：…``), one item per sentence or clause after a ``；``, each said
    once across the texts, in their order. Empty when no text has such a section."""
    out: list[str] = []
    for text in texts:
        parts: list[str] = []
        inside = False
        for line in (raw.strip() for raw in text.splitlines()):
            if _SECTION.match(line):
                if inside:
                    break
                head, _, rest = line.partition("：")
                if "反应" in head:
                    inside = True
                    parts.append(rest)
            elif inside and line:
                parts.append(line)
        for item in re.split(r"[；。]", "".join(parts)):
            item = item.strip(" ，,")
            if item and item not in out:
                out.append(item)
    return out


def _age(phase: catalog.Phase) -> str:
    if phase.min_age is not None and phase.max_age is not None:
        return f"{phase.min_age}—{phase.max_age}岁"
    if phase.min_age is not None:
        return f"{phase.min_age}岁及以上"
    if phase.max_age is not None:
        return f"{phase.max_age}岁及以下"
    return "不限年龄"


def _phases_open(on: dt.date) -> list[dict]:
    names = dict(PriorityGroup.objects.values_list("code", "name_zh"))
    out = []
    for p in phases_current():
        if p.starts_on <= on and (p.ends_on is None or on <= p.ends_on):
            groups = "、".join(names.get(c, c) for c in p.priority_groups) or "全人群"
            out.append({"name": p.name_zh, "who": f"{groups}（{_age(p)}）"})
    return out


def _schedule(pol: catalog.SchedulePolicy) -> str:
    if pol.primary_doses == 1:
        return "接种1剂"
    gaps = "、".join(f"间隔{i.min_days}天以上" for i in pol.intervals)
    return f"共{pol.primary_doses}剂，{gaps}"


def booking_path(site: Site) -> str:
    return f"{reverse('booking:book-slots')}?site={site.code}"


def notice_facts(*, site: Site, on: dt.date) -> dict:
    """Everything the notice prints for ``site`` on ``on``, from the rules in force that day."""
    cat = catalogue_current()
    products = []
    consents = []
    for p in cat.products_in_use(on):
        pol = cat.policy_in_force(p.code, on)
        consent = (
            ConsentText.objects.filter(product_code=p.code, effective_from__lte=on)
            .order_by("-effective_from")
            .first()
        )
        if consent is not None:
            consents.append(consent.text)
        products.append(
            {
                "name": p.name_zh,
                "maker": p.manufacturer_zh,
                "schedule": _schedule(pol) if pol else "",
                "consent": f"{consent.title}（{consent.version}）" if consent else "",
            }
        )
    try:
        qs = question_set_on(on)
    except VaxOpsError:  # no question set in force: the notice says so
        qs = None
    never = (
        [q.rule.reason_zh for q in qs.questions if q.rule.action is catalog.RuleAction.CONTRAINDICATE]
        if qs
        else []
    )
    wait = [q.rule.reason_zh for q in qs.questions if q.rule.action is catalog.RuleAction.DEFER] if qs else []
    hours: dict[int, list[str]] = {}
    for h in site.hours.all():
        hours.setdefault(h.weekday, []).append(f"{h.start:%H:%M}—{h.end:%H:%M}")
    pairing = SitePairing.objects.filter(site=site).select_related("hospital").first()
    if pairing is not None:
        hospital, phone = pairing.hospital.name, pairing.hospital.phone
    else:
        hospital, phone = site.hospital_name, site.hospital_phone
    return {
        "site": site,
        "on": on,
        "phases": _phases_open(on),
        "products": products,
        "never": never,
        "wait": wait,
        "question_set": qs.version if qs else "",
        "temp_max": qs.temp_max_c if qs else None,
        "bp": f"{qs.bp_systolic_max}/{qs.bp_diastolic_max}" if qs else "",
        "to_bring": TO_BRING,
        "reactions": reactions_from_consents(consents) or list(REACTIONS),
        "hours": [{"day": WEEKDAYS[d], "times": "、".join(v)} for d, v in sorted(hours.items())],
        "exceptions": [
            {"day": e.day, "closed": e.closed, "note": e.note}
            for e in site.exceptions.filter(day__gte=on, day__lte=on + dt.timedelta(days=30))
        ],
        "hospital": hospital,
        "hospital_phone": phone,
        "booking_path": booking_path(site),
    }


def qr_svg(url: str) -> str:
    return segno.make_qr(url, error="m").svg_inline(
        scale=5, border=2, title="预约二维码", dark="#000", light="#fff"
    )


def notice_pdf(facts: dict, *, url: str, size: str = "A4") -> bytes:
    """The notice as one portrait page of A4 or A3, Chinese embedded (the certificates' CJK font)."""
    from reportlab.lib.pagesizes import A3, A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table

    from vaxops.certs.document import _font_registered

    font = _font_registered()
    page = A3 if size == "A3" else A4
    k = 1.35 if size == "A3" else 1.0
    title = ParagraphStyle("t", fontName=font, fontSize=22 * k, leading=28 * k, alignment=1)
    sub = ParagraphStyle("s", fontName=font, fontSize=11 * k, leading=15 * k, alignment=1)
    head = ParagraphStyle("h", fontName=font, fontSize=12.5 * k, leading=17 * k, spaceBefore=5 * k)
    text = ParagraphStyle("x", fontName=font, fontSize=10 * k, leading=14 * k)

    class QR(Flowable):
        def __init__(self, data: str, side: float) -> None:
            super().__init__()
            self.data, self.side = data, side

        def wrap(self, *args):  # noqa: ANN002, ANN202
            return self.side, self.side

        def draw(self) -> None:
            matrix = [list(r) for r in segno.make_qr(self.data, error="m").matrix_iter(scale=1, border=2)]
            cell = self.side / len(matrix)
            c = self.canv
            c.setFillColorRGB(0, 0, 0)
            for r, row in enumerate(matrix):
                for col, dark in enumerate(row):
                    if dark:
                        c.rect(
                            col * cell, self.side - (r + 1) * cell, cell * 1.02, cell * 1.02, stroke=0, fill=1
                        )

    def items(rows) -> list:
        return [Paragraph(f"· {r}", text) for r in rows]

    site = facts["site"]
    left = [
        Paragraph("三、以下情况禁止接种", head),
        *items(facts["never"]),
        Paragraph("四、以下情况暂缓接种", head),
        *items(facts["wait"]),
        Paragraph("五、请携带", head),
        *items(facts["to_bring"]),
    ]
    right = [
        Paragraph("六、常见反应与留观", head),
        *items(facts["reactions"]),
        Paragraph("七、开放时间", head),
        Paragraph("；".join(f"{h['day']} {h['times']}" for h in facts["hours"]) or "以预约通知为准", text),
        Paragraph("八、对口救治医院", head),
        Paragraph(f"{facts['hospital'] or '—'}　电话：{facts['hospital_phone'] or '—'}", text),
    ]
    margin = (16 if size == "A3" else 12) * mm
    half = (page[0] - 2 * margin) / 2
    # As the printed page: the groups and the vaccines across the sheet, the rest in two columns, the QR at the
    # foot, so the notice is one sheet.
    story = [
        Paragraph("新冠病毒疫苗接种注意事项", title),
        Paragraph(f"{site.name} · {facts['on']:%Y年%m月%d日}起适用", sub),
        Spacer(1, 3 * mm),
        Paragraph("一、现阶段可以接种的人群", head),
        *items([f"{p['name']}：{p['who']}" for p in facts["phases"]] or ["暂无开放的接种阶段"]),
        Paragraph("二、使用的疫苗", head),
        *items([f"{p['name']}（{p['maker']}）：{p['schedule']}" for p in facts["products"]]),
        Table(
            [[left, right]],
            colWidths=[half, half],
            style=[
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 4 * mm * k),
            ],
        ),
        Spacer(1, 3 * mm),
        Table(
            [[QR(url, 32 * mm * k), Paragraph(f"扫码预约本接种点<br/>{url}", text)]],
            colWidths=[38 * mm * k, None],
        ),
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=page,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=f"{site.name} 接种注意事项",
    )
    doc.build(story)
    return buf.getvalue()
