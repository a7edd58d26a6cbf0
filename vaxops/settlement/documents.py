"""The settlement's documents: a site's statement (结算单) and the county's summary, as XLSX (through
``core.xlsx``) and as Chinese PDF (reportlab with the CJK TrueType font the certificates embed)."""

from __future__ import annotations

import io

from openpyxl import Workbook

from vaxops.certs import document as cert_document
from vaxops.core.xlsx import sheet_append

from .models import Settlement

LINE_HEADERS = (
    "序号",
    "类型",
    "资金渠道",
    "接种日期",
    "疫苗品种",
    "批号",
    "追溯码（脱敏）",
    "疫苗价格（元）",
    "接种服务费（元）",
    "小计（元）",
)
SUMMARY_HEADERS = (
    "接种单位编码",
    "接种单位",
    "状态",
    "医保基金支付剂次",
    "接种服务费（元）",
    "疫苗费用（元）",
    "医保基金应付（元）",
    "县财政补助（元）",
    "原资金渠道剂次",
    "调整金额（元）",
    "与库存流水核对",
)


def _head(s: Settlement) -> list[tuple[str, str]]:
    return [
        ("接种单位", f"{s.site.name}（{s.site.code}）"),
        ("结算月份", f"{s.month:%Y年%m月}"),
        ("状态", str(s.get_status_display())),
        ("医保基金支付剂次", str(s.doses)),
        ("接种服务费（元）", str(s.service_fee)),
        ("疫苗费用（元）", str(s.vaccine_cost)),
        ("医保基金应付（元）", str(s.payable)),
        (f"县财政补助（{s.subsidy_share * 100:.0f}%，元）", str(s.fiscal_subsidy)),
        ("原资金渠道剂次 / 金额（元）", f"{s.old_channel_doses} / {s.old_channel_amount}"),
        ("调整行 / 金额（元）", f"{s.adjustment_lines} / {s.adjustment_amount}"),
        ("与库存流水核对", "一致" if s.reconciled else "不一致"),
        ("支付", f"{s.paid_on:%Y-%m-%d} {s.paid_reference}" if s.paid_on else "—"),
    ]


def _line_rows(lines):
    for i, ln in enumerate(lines, start=1):
        yield (
            i,
            ln.get_kind_display(),
            ln.get_channel_display(),
            ln.given_on,
            ln.product_code,
            ln.lot.lot_number if ln.lot_id and ln.lot else "",
            ln.code_masked,
            ln.vaccine_price,
            ln.service_fee,
            ln.vaccine_price + ln.service_fee,
        )


def statement_xlsx(s: Settlement, lines) -> Workbook:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("结算单")
    sheet_append(ws, ["疫苗及接种费用结算单"])
    for k, v in _head(s):
        sheet_append(ws, [k, v])
    ws2 = wb.create_sheet("明细")
    sheet_append(ws2, LINE_HEADERS)
    for row in _line_rows(lines):
        sheet_append(ws2, row, text_columns=(5, 6))
    ws3 = wb.create_sheet("与库存流水核对")
    sheet_append(ws3, ["批号", "库存流水接种出库", "结算明细", "当月作废", "差异"])
    for r in s.reconciliation:
        sheet_append(
            ws3, [r["lot"], r["ledger"], r["settled"], r["voided"], r["difference"]], text_columns=(0,)
        )
    return wb


def _summary_row(s: Settlement) -> tuple:
    return (
        s.site.code,
        s.site.name,
        str(s.get_status_display()),
        s.doses,
        s.service_fee,
        s.vaccine_cost,
        s.payable,
        s.fiscal_subsidy,
        s.old_channel_doses,
        s.adjustment_amount,
        "一致" if s.reconciled else "不一致",
    )


def summary_xlsx(month_label: str, rows: list[Settlement]) -> Workbook:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("全县汇总")
    sheet_append(ws, [f"{month_label} 疫苗及接种费用结算汇总（县财政补助）"])
    sheet_append(ws, SUMMARY_HEADERS)
    for s in rows:
        sheet_append(ws, _summary_row(s), text_columns=(0,))
    sheet_append(ws, _total_row(rows))
    return wb


def _total_row(rows: list[Settlement]) -> tuple:
    return (
        "合计",
        f"{len(rows)} 个接种单位",
        "",
        sum(s.doses for s in rows),
        sum(s.service_fee for s in rows),
        sum(s.vaccine_cost for s in rows),
        sum(s.payable for s in rows),
        sum(s.fiscal_subsidy for s in rows),
        sum(s.old_channel_doses for s in rows),
        sum(s.adjustment_amount for s in rows),
        "",
    )


def _pdf(title: str, blocks: list) -> bytes:
    """A landscape A4 PDF of ``title`` and ``blocks`` (("kv", rows) or ("table", headers, rows)). Refused
    (``FontMissing``) when no Chinese TrueType font is installed."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = cert_document._font_registered()
    story = [
        Paragraph(title, ParagraphStyle("t", fontName=font, fontSize=15, leading=20, alignment=1)),
        Spacer(1, 4 * mm),
    ]
    for block in blocks:
        if block[0] == "kv":
            t = Table([[k, v] for k, v in block[1]], colWidths=[70 * mm, 120 * mm], hAlign="LEFT")
            t.setStyle(
                TableStyle(
                    [("FONT", (0, 0), (-1, -1), font, 9), ("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]
                )
            )
        else:
            data = [list(block[1]), *([("" if v is None else str(v)) for v in r] for r in block[2])]
            t = Table(data, repeatRows=1)
            t.setStyle(
                TableStyle(
                    [
                        ("FONT", (0, 0), (-1, -1), font, 7),
                        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ]
                )
            )
        story += [t, Spacer(1, 4 * mm)]
    buf = io.BytesIO()
    SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=title,
    ).build(story)
    return buf.getvalue()


PDF_LINES = 5000


def statement_pdf(s: Settlement, lines, total_lines: int | None = None) -> bytes:
    """The statement as a Chinese PDF; ``lines`` are the first lines (at most ``PDF_LINES``) — when the statement
    has more (``total_lines``), the PDF says so and points to the XLSX, which holds every line."""
    recon = [(r["lot"], r["ledger"], r["settled"], r["voided"], r["difference"]) for r in s.reconciliation]
    head = list(_head(s))
    if total_lines is not None and total_lines > len(lines):
        head.append(("明细行", f"共{total_lines}行，本PDF列出前{len(lines)}行；完整明细见XLSX结算单"))
    return _pdf(
        f"疫苗及接种费用结算单 · {s.site.name} · {s.month:%Y年%m月}",
        [
            ("kv", head),
            ("table", ("批号", "库存流水接种出库", "结算明细", "当月作废", "差异"), recon),
            ("table", LINE_HEADERS, list(_line_rows(lines))),
        ],
    )


def summary_pdf(month_label: str, rows: list[Settlement]) -> bytes:
    return _pdf(
        f"{month_label} 疫苗及接种费用结算汇总（医保基金应付与县财政补助）",
        [("table", SUMMARY_HEADERS, [*map(_summary_row, rows), _total_row(rows)])],
    )
