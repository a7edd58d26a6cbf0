"""The weekly bulletin as documents, made from its stored snapshot only (so a published one never changes): a
Chinese PDF (reportlab, with the CJK TrueType font the certificates use) and an XLSX workbook."""

from __future__ import annotations

import io

from openpyxl import Workbook

from vaxops.certs import document as cert_document
from vaxops.core.errors import ValidationFailed
from vaxops.core.xlsx import sheet_append

from .errors import ReportsErrorCode

UNIT_HEADERS = [
    "覆盖率排名",
    "进度排名",
    "代码",
    "名称",
    "应种人数",
    "累计接种（人）",
    "覆盖率",
    "本周接种（人）",
    "本周任务量（人）",
    "任务完成率",
    "等级",
]
SECTIONS = (("townships", "乡镇（街道）"), ("sectors", "行业主管部门"), ("employers", "单位"))


def unit_row(u: dict) -> list:
    return [
        u["rank_coverage"] or "—",
        u["rank_progress"] or "—",
        u["code"],
        u["name"],
        u["denominator"],
        u["people_first_dose"],
        u["coverage_text"],
        u["week_people"],
        u["week_quota"] if u["week_quota"] is not None else "—",
        u["progress_text"],
        u["band_label"],
    ]


def totals_rows(f: dict) -> list[list]:
    t = f["totals"]
    return [
        [
            "本周接种剂次",
            t["week_doses"],
            f"上周 {t['previous_week_doses']}，变化 {t['doses_change']:+d}（{t['doses_change_text']}）",
        ],
        [
            "本周首剂人数",
            t["week_people"],
            f"上周 {t['previous_week_people']}，变化 {t['people_change']:+d}（{t['people_change_text']}）",
        ],
        ["本周任务量（人）", t["week_quota"], f"完成 {t['progress_text']}"],
        [
            "累计接种（人）",
            t["people_first_dose"],
            f"覆盖率 {t['coverage_text']}（人口 {t['population'] or '—'}）",
        ],
    ]


def band_rule(f: dict) -> str:
    th = f["thresholds"]
    return (
        f"等级：覆盖率达到{th['coverage_green']:g}%或本周任务完成率达到{th['progress_green']:g}%为绿；"
        f"覆盖率低于{th['coverage_red']:g}%且任务完成率低于{th['progress_red']:g}%为红；其余为黄。"
    )


def bulletin_xlsx(f: dict) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("概况")
    sheet_append(ws, [f"{f['county_name']}新冠病毒疫苗接种工作周通报", f["week_label"]])
    sheet_append(ws, ["项目", "数量", "说明"])
    for row in totals_rows(f):
        sheet_append(ws, row)
    sheet_append(ws, [band_rule(f)])
    for key, title in SECTIONS:
        ws = wb.create_sheet(f"{title}排名"[:31])
        sheet_append(ws, UNIT_HEADERS + (["行业主管部门"] if key == "employers" else []))
        for u in f[key]:
            sheet_append(
                ws, unit_row(u) + ([u.get("sector", "")] if key == "employers" else []), text_columns=(2,)
            )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def bulletin_pdf(f: dict, *, status_text: str) -> bytes:
    """A4 landscape: the title, the week's totals and changes, the band rule, then the three ranked tables.
    Refused (``bulletin_font_missing``) when no Chinese TrueType font is installed (``make fonts``)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if not cert_document.font_available():
        raise ValidationFailed(cert_document.FONT_MISSING, code=ReportsErrorCode.BULLETIN_FONT_MISSING)
    font = cert_document.FONT_NAME
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=22, alignment=1)
    h2 = ParagraphStyle("h", fontName=font, fontSize=12, leading=18, spaceBefore=6)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=13)
    fills = {
        "green": colors.HexColor("#d8f0dd"),
        "yellow": colors.HexColor("#fff2c2"),
        "red": colors.HexColor("#f9d3d0"),
    }

    def table(rows, widths, bands=()):
        t = Table(rows, colWidths=widths, repeatRows=1)
        style = [
            ("FONT", (0, 0), (-1, -1), font, 8),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        for i, b in enumerate(bands, start=1):
            style.append(("BACKGROUND", (-1, i), (-1, i), fills.get(b, colors.white)))
        t.setStyle(TableStyle(style))
        return t

    story = [
        Paragraph(f"{f['county_name']}新冠病毒疫苗接种工作周通报", title),
        Paragraph(f"{f['week_label']} · {status_text}", ParagraphStyle("s", parent=body, alignment=1)),
        Spacer(1, 4 * mm),
        Paragraph("一、本周总体情况", h2),
        table(
            [["项目", "数量", "说明"], *[[str(c) for c in r] for r in totals_rows(f)]],
            [50 * mm, 30 * mm, 150 * mm],
        ),
        Paragraph(band_rule(f), body),
    ]
    widths = [
        16 * mm,
        16 * mm,
        30 * mm,
        50 * mm,
        20 * mm,
        24 * mm,
        18 * mm,
        22 * mm,
        24 * mm,
        20 * mm,
        12 * mm,
    ]
    for n, (key, label) in enumerate(SECTIONS, start=2):
        story.append(Paragraph(f"{'二三四'[n - 2]}、{label}接种进度排名", h2))
        units = f[key]
        if not units:
            story.append(Paragraph("（无）", body))
            continue
        story.append(
            table(
                [UNIT_HEADERS, *[[str(c) if c is not None else "—" for c in unit_row(u)] for u in units]],
                widths,
                bands=[u["band"] for u in units],
            )
        )
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{f['county_name']}周通报 {f['week_start']}",
    ).build(story)
    return out.getvalue()
