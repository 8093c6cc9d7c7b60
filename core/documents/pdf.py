"""The built-in PDF layout of each document (ReportLab), in Decree 30/2020's format:
the heading in two columns (governing body, agency and number left; national title,
motto, place and date right), the title, the body and the signature block.

Fonts: DejaVu Serif (or Sans), which has every Vietnamese glyph, embedded as a subset.
Found in ``CONGVU_PDF_FONT_DIR`` or Debian's fonts-dejavu-core (`make install` installs it).
"""

from __future__ import annotations

import os
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts/dejavu")
# Serif as the Decree's Times New Roman; Sans where a system ships only that.
FAMILIES = ({"DocSerif": "DejaVuSerif.ttf", "DocSerif-Bold": "DejaVuSerif-Bold.ttf",
             "DocSerif-Italic": "DejaVuSerif-Italic.ttf", "DocSerif-BoldItalic": "DejaVuSerif-BoldItalic.ttf"},
            {"DocSerif": "DejaVuSans.ttf", "DocSerif-Bold": "DejaVuSans-Bold.ttf",
             "DocSerif-Italic": "DejaVuSans-Oblique.ttf", "DocSerif-BoldItalic": "DejaVuSans-BoldOblique.ttf"})


class FontMissing(RuntimeError):
    pass


def _fonts() -> dict[str, Path]:
    candidates = [os.environ.get("CONGVU_PDF_FONT_DIR", ""), *FONT_DIRS]
    for faces in FAMILIES:
        for candidate in candidates:
            if candidate and all((Path(candidate) / f).is_file() for f in faces.values()):
                return {name: Path(candidate) / f for name, f in faces.items()}
    raise FontMissing("DejaVu fonts not found: install Debian's fonts-dejavu-core (make install does) "
                      "or set CONGVU_PDF_FONT_DIR to a folder holding DejaVuSerif*.ttf.")


def register_fonts() -> None:
    if "DocSerif" in pdfmetrics.getRegisteredFontNames():
        return
    for name, path in _fonts().items():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily("DocSerif", normal="DocSerif", bold="DocSerif-Bold", italic="DocSerif-Italic",
                                  boldItalic="DocSerif-BoldItalic")


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()  # paragraphs resolve their font when they are made
    base = ParagraphStyle("base", fontName="DocSerif", fontSize=11, leading=15)
    return {
        "base": base,
        "body": ParagraphStyle("body", parent=base, alignment=TA_JUSTIFY, spaceAfter=4),
        "center": ParagraphStyle("center", parent=base, alignment=TA_CENTER),
        "center_bold": ParagraphStyle("center_bold", parent=base, alignment=TA_CENTER, fontName="DocSerif-Bold"),
        "center_italic": ParagraphStyle("center_italic", parent=base, alignment=TA_CENTER, fontName="DocSerif-Italic"),
        "title": ParagraphStyle("title", parent=base, alignment=TA_CENTER, fontName="DocSerif-Bold", fontSize=13,
                                leading=17, spaceBefore=10),
        "heading": ParagraphStyle("heading", parent=base, fontName="DocSerif-Bold", spaceBefore=8, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=12),
        "cell_head": ParagraphStyle("cell_head", parent=base, fontSize=9.5, leading=12, fontName="DocSerif-Bold",
                                    alignment=TA_CENTER),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _heading(ctx: dict[str, Any], s: dict[str, ParagraphStyle]) -> list:
    left = [_p(ctx["authority"], s["center"]), _p(ctx["agency"], s["center_bold"])]
    if ctx.get("number_line"):
        left.append(_p(ctx["number_line"], s["center"]))
    right = [_p(ctx["national_title"], s["center_bold"]), _p(ctx["motto"], s["center_bold"]),
             _p("", s["center"]), _p(ctx["place_date"], s["center_italic"])]
    table = Table([[left, right]], colWidths=[72 * mm, 98 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return [table, Spacer(1, 4 * mm)]


def _grid(head: list[str], rows: list[list[Any]], widths: list[float], s: dict[str, ParagraphStyle]) -> Table:
    data = [[_p(h, s["cell_head"]) for h in head]] + [[_p(v, s["cell"]) for v in row] for row in rows]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]))
    return table


def _signatures(pairs: list[tuple[str, str]], s: dict[str, ParagraphStyle]) -> Table:
    """Signature blocks side by side: the title, "(Ký, ghi rõ họ tên)", space, the name."""
    cells = []
    for title, name in pairs:
        cells.append([_p(title, s["center_bold"]), _p("(Ký, ghi rõ họ tên)", s["center_italic"]),
                      Spacer(1, 22 * mm), _p(name, s["center_bold"])])
    table = Table([cells], colWidths=[170 * mm / len(pairs)] * len(pairs))
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return KeepTogether([Spacer(1, 6 * mm), table])


def _build(story: list, title: str) -> bytes:
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=30 * mm, rightMargin=15 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title=title, author="congvu", invariant=1)
    doc.build(story)
    return out.getvalue()


def evaluation_form(ctx: dict[str, Any]) -> bytes:
    s = _styles()
    story = _heading(ctx, s) + [_p(ctx["title"], s["title"]), Spacer(1, 4 * mm)]
    story += [_p(f"Họ và tên: {ctx['name']}", s["body"]), _p(f"Chức vụ, chức danh: {ctx['position']}", s["body"]),
              _p(f"Đơn vị công tác: {ctx['unit']}", s["body"]),
              _p(f"Kỳ đánh giá: {ctx['period_label']}", s["body"])]
    story.append(_p("Kết quả thực hiện nhiệm vụ", s["heading"]))
    story.append(_grid(["Tháng", "Số việc", "Điểm nhiệm vụ", "Điểm tiêu chí chung", "Tổng điểm", "Ghi chú"],
                       [[m["period"], m["items"], m["task_score"], m["general_score"], m["total"], m["provisional"]]
                        for m in ctx["months"]], [22, 20, 30, 34, 28, 36], s))
    story.append(_p(f"Tổng điểm của kỳ: {ctx['total']}", s["body"]))
    story.append(_p("I. PHẦN CÁ NHÂN TỰ ĐÁNH GIÁ", s["heading"]))
    story.append(_grid(["Tiêu chí chung", "Điểm tối đa", "Tự chấm"],
                       [[c["title"], c["max"], c["score"]] for c in ctx["self_criteria"]], [110, 30, 30], s))
    story.append(_p(f"Tự nhận xét: {ctx['self_comment'] or ctx['self_assessment']}", s["body"]))
    story.append(_p("II. PHẦN ĐÁNH GIÁ CỦA NGƯỜI QUẢN LÝ TRỰC TIẾP", s["heading"]))
    story.append(_grid(["Tiêu chí chung", "Điểm tối đa", "Người quản lý chấm"],
                       [[c["title"], c["max"], c["score"]] for c in ctx["manager_criteria"]], [110, 30, 30], s))
    story.append(_p(f"Nhận xét, đề xuất: {ctx['manager_comment'] or ctx['manager_proposal']}", s["body"]))
    story.append(_signatures([("NGƯỜI TỰ ĐÁNH GIÁ", ctx["name"]), ("NGƯỜI QUẢN LÝ TRỰC TIẾP", ctx["manager_name"])], s))
    return _build(story, ctx["title"])


def classification_form(ctx: dict[str, Any]) -> bytes:
    s = _styles()
    story = _heading(ctx, s) + [_p(ctx["title"], s["title"]), Spacer(1, 4 * mm)]
    story += [_p(f"Họ và tên: {ctx['name']}", s["body"]), _p(f"Chức vụ, chức danh: {ctx['position']}", s["body"]),
              _p(f"Đơn vị công tác: {ctx['unit']}", s["body"])]
    story.append(_p("I. KẾT QUẢ THEO DÕI, ĐÁNH GIÁ TRONG NĂM", s["heading"]))
    story.append(_grid(["Nội dung", "Kết quả"],
                       [["Số tháng công tác được đánh giá", ctx["months_worked"]],
                        ["Điểm kết quả thực hiện nhiệm vụ (bình quân)", ctx["task_score"]],
                        ["Tổng điểm bình quân năm", ctx["total"]],
                        ["Mức xếp loại theo điểm", ctx["computed_level"]]], [120, 50], s))
    story.append(_p("II. TỰ ĐÁNH GIÁ, XẾP LOẠI CỦA CÁ NHÂN", s["heading"]))
    story.append(_p(ctx["self_assessment"] or "." * 160, s["body"]))
    story.append(_p("III. NHẬN XÉT, ĐÁNH GIÁ CỦA NGƯỜI QUẢN LÝ TRỰC TIẾP", s["heading"]))
    story.append(_p(ctx["manager_comment"] or "." * 160, s["body"]))
    story.append(_p("IV. KẾT QUẢ XẾP LOẠI CHẤT LƯỢNG", s["heading"]))
    story.append(_p(f"Xếp loại: {ctx['level_label']} ({ctx['level']}) — kết quả {ctx['status']}.", s["body"]))
    if ctx.get("notice"):  # the written notice of the decision (Decree 90/2020, Art. 21)
        story.append(_p(ctx["notice"], s["body"]))
    story.append(_signatures([("NGƯỜI TỰ ĐÁNH GIÁ", ctx["name"]), ("NGƯỜI QUẢN LÝ TRỰC TIẾP", ctx["manager_name"])], s))
    return _build(story, ctx["title"])


def decision(ctx: dict[str, Any]) -> bytes:
    s = _styles()
    story = _heading(ctx, s) + [_p(ctx["title"], s["title"]), _p(ctx["subject"], s["center_bold"]),
                                Spacer(1, 3 * mm), _p(ctx["decider_title"], s["center_bold"]), Spacer(1, 2 * mm)]
    story += [
        _p("Căn cứ Nghị định số 335/2025/NĐ-CP của Chính phủ quy định về đánh giá, xếp loại chất lượng cán bộ, "
           "công chức, viên chức;", s["body"]),
        _p(f"Căn cứ kết quả đánh giá, xếp loại chất lượng năm {ctx['year']} của {ctx['agency_name']};", s["body"]),
        _p("QUYẾT ĐỊNH:", s["center_bold"]),
        _p(f"Điều 1. Phê duyệt kết quả đánh giá, xếp loại chất lượng năm {ctx['year']} đối với {ctx['count']} người "
           f"của {ctx['agency_name']} (danh sách kèm theo), trong đó: "
           + "; ".join(f"{c['label']}: {c['count']}" for c in ctx["counts"]) + ".", s["body"]),
        _p("Điều 2. Quyết định này có hiệu lực kể từ ngày ký.", s["body"]),
        _p("Điều 3. Thủ trưởng các đơn vị và các cá nhân có tên trong danh sách chịu trách nhiệm thi hành "
           "Quyết định này.", s["body"]),
    ]
    story.append(_signatures([(ctx["decider_title"], ctx["decider_name"])], s))
    story += [PageBreak(), _p("DANH SÁCH", s["title"]),
              _p(f"Kết quả đánh giá, xếp loại chất lượng năm {ctx['year']}", s["center_bold"]),
              _p(f"(Kèm theo Quyết định số {ctx['number_ref']} {ctx['date_text']} của {ctx['agency_name']})",
                 s["center_italic"]),
              Spacer(1, 3 * mm),
              _grid(["STT", "Họ và tên", "Chức vụ", "Đơn vị", "Điểm", "Xếp loại"],
                    [[r["no"], r["name"], r["position"], r["unit"], r["total"], r["level_label"]] for r in ctx["rows"]],
                    [12, 40, 28, 40, 15, 35], s)]
    return _build(story, f"{ctx['title']} {ctx['number_line']}")


RENDERERS = {"evaluation_form": evaluation_form, "classification_form": classification_form, "decision": decision}
