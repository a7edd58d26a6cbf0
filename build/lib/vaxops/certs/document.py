"""The certificate as people see it: the QR (``segno``, error correction Q) and the printable PDF
(``reportlab``), Chinese and English side by side.

The PDF embeds a CJK TrueType font. reportlab cannot embed fonts with PostScript (CFF) outlines, such as
Debian's Noto CJK; ``make fonts`` installs ``fonts-wqy-microhei`` (TrueType, Apache-2.0/GPL-3.0). Without
any such font the PDF is refused with a clear message instead of printing empty boxes.
"""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import segno

from vaxops.core.errors import VaxOpsError

from . import conf
from .errors import CertsErrorCode

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
)
FONT_NAME = "VaxOpsCJK"
FONT_MISSING = (
    "未找到可嵌入 PDF 的中文字体，无法生成凭证 PDF。请运行 make fonts（或 sudo apt-get install fonts-wqy-microhei），"
    "或用 VAXOPS_CJK_FONT 指定一个 TrueType 中文字体文件。 / No Chinese TrueType font to embed in the PDF: "
    "run `make fonts` (or `sudo apt-get install fonts-wqy-microhei`) or set VAXOPS_CJK_FONT."
)


class FontMissing(VaxOpsError):
    code = CertsErrorCode.FONT_MISSING


# --------------------------------------------------------------------------------------------------
# QR
# --------------------------------------------------------------------------------------------------


def qr(hc1: str) -> segno.QRCode:
    """The QR of an ``HC1:`` string: error correction Q (not boosted), alphanumeric mode."""
    return segno.make_qr(hc1, error="q", boost_error=False)


def qr_svg(hc1: str, *, scale: int = 4) -> str:
    """The QR as an inline ``<svg>`` element."""
    return qr(hc1).svg_inline(scale=scale, border=4, title="HC1 QR", dark="#000", light="#fff")


def qr_png(hc1: str, *, scale: int = 6) -> bytes:
    buf = io.BytesIO()
    qr(hc1).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------
# Font
# --------------------------------------------------------------------------------------------------


@cache
def font_path() -> tuple[str, int] | None:
    """The CJK TrueType font the PDF embeds: ``VAXOPS_CJK_FONT`` or the first installed candidate."""
    explicit = conf.cjk_font()
    if explicit:
        return (explicit, 0) if Path(explicit).is_file() else None
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    return None


@cache
def _font_registered() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    found = font_path()
    if found is None:
        raise FontMissing(FONT_MISSING)
    path, index = found
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
    except TTFError as e:
        raise FontMissing(f"{FONT_MISSING}（{path}: {e}）") from None
    return FONT_NAME


def font_available() -> bool:
    try:
        _font_registered()
    except FontMissing:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------


_TOKENS = re.compile(r"[\x21-\x7e]+ *| +|.")


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: Latin words stay whole where they fit, Chinese
    breaks between any two characters."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line = [], ""
    for token in _TOKENS.findall(text):
        if stringWidth(line + token.rstrip(), font, size) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
            line = ""
        for ch in token.lstrip() if stringWidth(token.rstrip(), font, size) > width else [token.lstrip()]:
            if stringWidth(line + ch, font, size) > width and line:
                lines.append(line.rstrip())
                line = ""
            line += ch
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def pdf_render(*, document: dict, hc1: str, issued_at: str, expires_at: str, revoked: bool = False) -> bytes:
    """One A4 page: header, holder, doses, issuer and the QR; labels in Chinese with English beside."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = _font_registered()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"新冠病毒疫苗接种凭证 COVID-19 Vaccination Certificate {document.get('uvci', '')}")
    c.setAuthor(document.get("issuer_en", "VaxOps"))
    c.setSubject("EU DCC (HCERT) vaccination certificate")
    width, height = A4
    left, right = 18 * mm, width - 18 * mm
    y = height - 22 * mm

    c.setFont(font, 18)
    c.drawCentredString(width / 2, y, "新冠病毒疫苗接种凭证")
    y -= 8 * mm
    c.setFont(font, 12)
    c.drawCentredString(width / 2, y, "COVID-19 Vaccination Certificate")
    y -= 5 * mm
    c.setStrokeColor(colors.HexColor("#1f4e79"))
    c.setLineWidth(1.2)
    c.line(left, y, right, y)
    y -= 9 * mm

    # Holder (left) and QR (right)
    qr_size = 62 * mm
    qr_top = y + 4 * mm
    fields = [
        ("姓名", "Name", document.get("name_zh", "")),
        ("姓名（拼音）", "Name (transliterated)", document.get("name_latin", "")),
        ("出生日期", "Date of birth", document.get("birth_date", "") or "—"),
        (f"证件号码（{document.get('id_type', '')}）", "ID number (masked)", document.get("id_masked", "")),
        ("签发机构", "Issuer", f"{document.get('issuer_zh', '')}"),
        ("", "", document.get("issuer_en", "")),
        ("凭证编号", "Certificate ID (UVCI)", document.get("uvci", "")),
        ("签发时间", "Issued", issued_at),
        ("有效期至", "Valid until", expires_at),
    ]
    label_w = 52 * mm
    value_w = right - left - qr_size - label_w - 4 * mm
    for zh, en, value in fields:
        c.setFont(font, 9.5)
        c.setFillColor(colors.HexColor("#444444"))
        c.drawString(left, y, zh)
        c.setFont(font, 7.5)
        c.drawString(left, y - 3.6 * mm, en)
        c.setFillColor(colors.black)
        size = 11 if zh == "姓名" else 9.5
        lines = _wrap(str(value), font, size, value_w)
        c.setFont(font, size)
        for i, line in enumerate(lines[:2]):
            c.drawString(left + label_w, y - i * 4.2 * mm, line)
        y -= max(9, 4.6 * len(lines[:2]) + 4.4) * mm if en else 5 * mm

    _draw_qr(c, hc1, x=right - qr_size, y=qr_top - qr_size, size=qr_size)
    c.setFont(font, 7.5)
    c.drawCentredString(
        right - qr_size / 2, qr_top - qr_size - 4 * mm, "扫码验证 / Scan to verify (EU DCC, HC1)"
    )
    y = min(y, qr_top - qr_size - 10 * mm)

    # Doses
    c.setStrokeColor(colors.HexColor("#1f4e79"))
    c.line(left, y, right, y)
    y -= 6 * mm
    c.setFont(font, 11)
    c.drawString(left, y, "接种记录  Vaccinations")
    y -= 7 * mm
    cols = [
        ("剂次", "Dose", 30 * mm),
        ("接种日期", "Date", 20 * mm),
        ("疫苗", "Vaccine", 42 * mm),
        ("生产企业", "Manufacturer", 40 * mm),
        ("批号", "Lot", 18 * mm),
        ("接种单位", "Place", 24 * mm),
    ]
    x = left
    for zh, en, w in cols:
        c.setFont(font, 8.5)
        c.drawString(x, y, zh)
        c.setFont(font, 7)
        c.drawString(x, y - 3.2 * mm, en)
        x += w
    y -= 5 * mm
    c.setLineWidth(0.4)
    c.line(left, y, right, y)
    y -= 4.5 * mm
    for row in document.get("doses", []):
        label = row.get("label", {})
        cells = [
            (label.get("zh", ""), label.get("en", "")),
            (row.get("date", ""), ""),
            (row.get("product_zh", ""), row.get("product_en", "")),
            (row.get("manufacturer_zh", ""), row.get("manufacturer_en", "")),
            (row.get("lot", "") or "—", ""),
            (row.get("place", "") or "—", "外地接种 / elsewhere" if row.get("external") else ""),
        ]
        x, tallest = left, 0
        for (zh, en), (_, _, w) in zip(cells, cols, strict=True):
            yy = y
            c.setFont(font, 7.8)
            for line in _wrap(zh, font, 7.8, w - 2 * mm)[:3]:
                c.drawString(x, yy, line)
                yy -= 3.4 * mm
            c.setFont(font, 6.5)
            c.setFillColor(colors.HexColor("#555555"))
            for line in _wrap(en, font, 6.5, w - 2 * mm)[:3] if en else []:
                c.drawString(x, yy, line)
                yy -= 3 * mm
            c.setFillColor(colors.black)
            tallest = max(tallest, y - yy)
            x += w
        y -= tallest + 3.5 * mm
        c.setStrokeColor(colors.HexColor("#cccccc"))
        c.line(left, y + 4.2 * mm, right, y + 4.2 * mm)
        if y < 40 * mm:
            break

    # Footer
    c.setFont(font, 7.5)
    c.setFillColor(colors.HexColor("#444444"))
    notes = [
        "本凭证二维码采用欧盟数字新冠证书（EU DCC / HCERT）格式，经数字签名，可离线验证；公钥见签发机构发布的信任列表。",
        "The QR is an EU DCC (HCERT) signed with the issuer's key: verify it offline against the issuer's published trust list.",
        "二维码仅载明最近一剂有效接种；全部剂次见上表。 The QR carries the latest valid dose; every dose is listed above.",
    ]
    yy = 24 * mm
    for line in notes:
        c.drawString(left, yy, line)
        yy -= 4 * mm
    if revoked:
        c.saveState()
        c.setFillColor(colors.HexColor("#c00000"))
        c.setFont(font, 40)
        c.translate(width / 2, height / 2)
        c.rotate(30)
        c.drawCentredString(0, 0, "已撤销 REVOKED")
        c.restoreState()
    c.showPage()
    c.save()
    return buf.getvalue()


def _draw_qr(c, hc1: str, *, x: float, y: float, size: float) -> None:
    """Draw the QR as vector squares (crisp at any print resolution), quiet zone included."""
    matrix = [list(row) for row in qr(hc1).matrix_iter(scale=1, border=4)]
    n = len(matrix)
    cell = size / n
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        start = None
        for col, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                # a hair taller than a module, so rows join without seams when rasterised
                path.rect(
                    x + start * cell,
                    y + size - (r + 1) * cell - 0.02 * cell,
                    (col - start) * cell,
                    1.04 * cell,
                )
                start = None
    c.drawPath(path, stroke=0, fill=1)
