"""The printable PDF renders Chinese: page 1 rendered to an image (pypdfium2) shows the glyphs of the name,
the text layer holds the Chinese name, and the printed QR scans back to the certificate's HC1 string."""

import pytest

from vaxops.certs import document, services

pytestmark = pytest.mark.skipif(not document.font_available(), reason=document.FONT_MISSING)


def _render(pdf: bytes, scale: float = 2.0):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        image = page.render(scale=scale).to_pil().convert("L")
        text = page.get_textpage().get_text_range()
        page.close()
    finally:
        doc.close()
    return image, text


def _pdf(cert, **changes) -> bytes:
    return document.pdf_render(
        document=cert.document | changes,
        hc1=cert.hc1,
        issued_at="2022-03-01 10:00",
        expires_at="2023-03-01 10:00",
    )


def _ink(image, box) -> int:
    """Dark pixels in ``box`` (left, top, right, bottom as fractions of the page)."""
    w, h = image.size
    crop = image.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    return sum(crop.histogram()[:128])


NAME_BOX = (0.3, 0.12, 0.6, 0.17)  # where the name is printed (right of the 姓名 label)


def test_the_pdf_shows_the_chinese_name(vaccinated, signing_key, cdc):
    from PIL import ImageChops

    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)

    image, text = _render(_pdf(cert))
    blank, _ = _render(_pdf(cert, name_zh=""))
    other, _ = _render(_pdf(cert, name_zh="张三丰"))

    assert "王小明" in text and "新冠病毒疫苗接种凭证" in text and "WANG<XIAOMING" in text
    assert "国药集团中国生物" in text and "Sinopharm" in text
    # glyphs drawn where the name goes, and different glyphs for a different name (not .notdef boxes)
    assert _ink(image, NAME_BOX) > 200 and _ink(blank, NAME_BOX) == 0
    assert ImageChops.difference(image, other).getbbox() is not None
    assert _ink(image, NAME_BOX) != _ink(other, NAME_BOX)


def test_the_printed_qr_scans_to_the_hc1_string(vaccinated, signing_key, cdc):
    import zxingcpp

    person, _ = vaccinated
    cert = services.certificate_issue(actor=cdc, resident_id=person.pk)
    image, _ = _render(_pdf(cert), scale=2.0)
    assert [c.text for c in zxingcpp.read_barcodes(image)] == [cert.hc1]


def test_the_pdf_embeds_its_font():
    pdf = document.pdf_render(
        document={"name_zh": "王小明", "doses": []}, hc1="HC1:TEST", issued_at="", expires_at=""
    )
    assert b"/FontFile2" in pdf  # TrueType font program embedded, not a reference to a viewer's font


def test_without_a_font_the_pdf_is_refused_with_a_clear_message(monkeypatch):
    document.font_path.cache_clear()
    document._font_registered.cache_clear()
    monkeypatch.setattr(document, "FONT_CANDIDATES", ())
    monkeypatch.setattr(document.conf, "cjk_font", lambda: "")
    try:
        with pytest.raises(document.FontMissing, match="make fonts"):
            document.pdf_render(document={}, hc1="HC1:X", issued_at="", expires_at="")
        assert not document.font_available()
    finally:
        monkeypatch.undo()
        document.font_path.cache_clear()
        document._font_registered.cache_clear()
        assert document.font_available()
