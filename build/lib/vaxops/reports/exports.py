"""The county roll-up of the daily report in the official layout (《新冠疫苗接种相关信息日报表》), as XLSX and
as PDF: a title, the reporting unit and date, grouped column headers with merged cells, one row per township,
the totals row and the confirmation and signature lines."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from vaxops.core.formulas import starts_like_formula

TITLE = "新冠疫苗接种相关信息日报表"


@dataclass(frozen=True)
class Group:
    label: str
    columns: tuple[tuple[str, str], ...]  # (key, sub-header); a group of one column spans both header rows


GROUPS = (
    Group("乡镇（街道）", (("name", ""),)),
    Group(
        "当日接种剂次",
        (
            ("dose1_today", "第1剂"),
            ("dose2_today", "第2剂"),
            ("dose3_today", "第3剂"),
            ("booster_doses_today", "加强免疫"),
            ("doses_today", "小计"),
        ),
    ),
    Group(
        "累计接种剂次",
        (
            ("dose1_cumulative", "第1剂"),
            ("dose2_cumulative", "第2剂"),
            ("dose3_cumulative", "第3剂"),
            ("booster_doses_cumulative", "加强免疫"),
            ("doses_cumulative", "合计"),
        ),
    ),
    Group(
        "接种人数",
        (
            ("people_first_dose_today", "当日首剂"),
            ("people_first_dose_cumulative", "累计首剂"),
            ("people_completed_cumulative", "累计全程"),
            ("people_booster_cumulative", "累计加强"),
            ("people_60_plus_first_dose_cumulative", "60岁及以上累计首剂"),
        ),
    ),
    Group(
        "覆盖率",
        (
            ("population", "户籍人口"),
            ("coverage_first_dose", "首剂覆盖率"),
            ("coverage_completed", "全程覆盖率"),
            ("target_people", "目标人数"),
            ("coverage_target_people", "目标完成率"),
        ),
    ),
    Group("库存（剂）", (("stock_on_hand", ""),)),
    Group("疑似异常反应（例）", (("adverse_events_today", ""),)),
    Group("确认情况", (("status", ""),)),
)
KEYS = [key for g in GROUPS for key, _ in g.columns]


def status_text(t) -> str:
    """A township's confirmation as the roll-up prints it."""
    if t.confirmed is None:
        return "逾期未报" if t.late else "未确认"
    return f"已确认（第{t.confirmed.version}版）" + ("·逾期" if t.confirmed.late else "")


def table_rows(report: dict, townships) -> tuple[list[list], list]:
    """The body rows (序号 first) and the totals row, values as the report has them (None as "—")."""

    def cell(v):
        return "—" if v is None else v

    body = []
    for i, t in enumerate(townships, 1):
        values = {**t.figures, "status": status_text(t)}
        body.append([i, *(cell(values[k]) for k in KEYS)])
    done = sum(1 for t in townships if t.confirmed is not None)
    total = {**report["total"], "name": "合计", "status": f"已确认{done}/{len(townships)}"}
    return body, ["", *(cell(total[k]) for k in KEYS)]


def footer_lines(report: dict, townships) -> list[str]:
    late = [t.name for t in townships if t.late and t.confirmed is None]
    pending = [t.name for t in townships if t.confirmed is None and not t.late]
    confirmed = sum(1 for t in townships if t.confirmed is not None)
    lines = [
        f"确认情况：已确认{confirmed}个，未确认{len(pending)}个，逾期未报{len(late)}个"
        + (f"（{'、'.join(late)}）" if late else ""),
        "说明：剂次为截至统计日的有效接种记录（含外地接种补录）；人数按现住村（社区）统计；"
        "覆盖率以户籍人口为分母。",
        "填报人：__________    审核人：__________    单位负责人（签字）：__________    报送时间：____年__月__日__时",
    ]
    return lines


def daily_rollup_xlsx(report: dict, townships) -> Workbook:
    """The roll-up as a workbook in the official layout."""
    wb = Workbook()
    ws = wb.active
    ws.title = "日报表"
    width = 1 + len(KEYS)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    ws.cell(row=1, column=1, value=TITLE).font = Font(size=16, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(row=1, column=1).alignment = centre
    ws.cell(row=2, column=1, value=f"填报单位：{report['name']}（盖章）")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width // 2)
    day = report["date"]
    ws.cell(row=2, column=width // 2 + 1, value=f"统计日期：{day[:4]}年{day[5:7]}月{day[8:10]}日")
    ws.merge_cells(start_row=2, start_column=width // 2 + 1, end_row=2, end_column=width)
    ws.cell(row=2, column=width // 2 + 1).alignment = Alignment(horizontal="right")

    ws.cell(row=3, column=1, value="序号")
    ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    column = 2
    for g in GROUPS:
        span = len(g.columns)
        ws.cell(row=3, column=column, value=g.label)
        if span == 1:
            ws.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
        else:
            ws.merge_cells(start_row=3, start_column=column, end_row=3, end_column=column + span - 1)
            for i, (_, sub) in enumerate(g.columns):
                ws.cell(row=4, column=column + i, value=sub)
        column += span
    body, total = table_rows(report, townships)
    for r, values in enumerate([*body, total], start=5):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)
            cell.value = value
            if isinstance(value, str) and starts_like_formula(value):
                cell.data_type = "s"
                cell.quotePrefix = True
    last = 4 + len(body) + 1
    for row in ws.iter_rows(min_row=3, max_row=last, max_col=width):
        for cell in row:
            cell.border = box
            cell.alignment = centre
    for cell in ws[last]:
        cell.font = Font(bold=True)
    for c in range(1, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 14 if c == 2 else 9
    for i, line in enumerate(footer_lines(report, townships), start=last + 2):
        ws.cell(row=i, column=1, value=line)
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
    ws.freeze_panes = "C5"
    ws.page_setup.orientation = "landscape"
    return wb


def daily_rollup_pdf(report: dict, townships) -> bytes:
    """The roll-up as one landscape A4 PDF (more pages when the townships do not fit), Chinese embedded."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from vaxops.certs.document import FONT_MISSING, FontMissing, font_path

    found = font_path()
    if found is None:
        raise FontMissing(FONT_MISSING)
    font = "VaxOpsReportCJK"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(font, found[0], subfontIndex=found[1]))
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, alignment=1)
    text = ParagraphStyle("text", fontName=font, fontSize=8, leading=11)
    head = ParagraphStyle("head", fontName=font, fontSize=6.5, leading=8, alignment=1)

    row1, row2, spans = [Paragraph("序号", head)], [""], [("SPAN", (0, 0), (0, 1))]
    column = 1
    for g in GROUPS:
        span = len(g.columns)
        row1 += [Paragraph(g.label, head)] + [""] * (span - 1)
        if span == 1:
            row2.append("")
            spans.append(("SPAN", (column, 0), (column, 1)))
        else:
            row2 += [Paragraph(sub, head) for _, sub in g.columns]
            spans.append(("SPAN", (column, 0), (column + span - 1, 0)))
        column += span
    body, total = table_rows(report, townships)
    data = [row1, row2, *([str(v) for v in r] for r in body), [str(v) for v in total]]
    numbers = len(KEYS) - 2  # every column but the township's name and its confirmation
    widths = [8 * mm, 18 * mm] + [(277 * mm - 52 * mm) / numbers] * numbers + [26 * mm]
    table = Table(data, colWidths=widths, repeatRows=2)
    table.setStyle(
        TableStyle(
            [
                *spans,
                ("FONT", (0, 0), (-1, -1), font, 6.5),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (-1, 1), colors.HexColor("#eeeeee")),
                ("FONT", (0, -1), (-1, -1), font, 7),
            ]
        )
    )
    day = report["date"]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=f"{TITLE} {report['name']} {day}",
    )
    story = [
        Paragraph(TITLE, title),
        Spacer(1, 3 * mm),
        Table(
            [[f"填报单位：{report['name']}（盖章）", f"统计日期：{day[:4]}年{day[5:7]}月{day[8:10]}日"]],
            colWidths=[138 * mm, 139 * mm],
            style=[("FONT", (0, 0), (-1, -1), font, 9), ("ALIGN", (1, 0), (1, 0), "RIGHT")],
        ),
        Spacer(1, 2 * mm),
        table,
        Spacer(1, 4 * mm),
        *(Paragraph(line, text) for line in footer_lines(report, townships)),
    ]
    doc.build(story)
    return buf.getvalue()
