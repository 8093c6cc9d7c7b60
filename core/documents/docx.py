"""DOCX documents from templates (docxtpl): the built-in template of each kind, made here
with python-docx so a tenant can download it as a starting point, or the tenant's own.

A template is checked when it is uploaded: it must be a DOCX that Jinja can parse, use
every required placeholder of its kind and no name the document does not provide — a
template that would print a blank name or level is refused then, not at printing time.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from typing import Any
from zipfile import BadZipFile

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from docxtpl import DocxTemplate
from jinja2 import TemplateError

from core.errors import Invalid

HEADING = ("national_title", "motto", "authority", "agency", "agency_name", "number_ref", "number_line", "date_text",
           "place_date")
PERSON = ("name", "code", "position", "unit")
# What each document provides (a template may use any of these) and what it must show.
PROVIDED: dict[str, set[str]] = {
    "evaluation_form": {*HEADING, *PERSON, "title", "period_label", "period", "months", "self_criteria", "self_comment",
                        "manager_criteria", "manager_comment", "manager_name", "total", "self_assessment",
                        "manager_proposal"},
    "classification_form": {*HEADING, *PERSON, "title", "year", "months_worked", "task_score", "total", "computed_level",
                            "override_reason", "status", "manager_name", "self_assessment", "manager_comment",
                            "level", "level_label", "notice"},
    "decision": {*HEADING, "title", "subject", "year", "rows", "count", "counts", "decider_name", "decider_title"},
}
REQUIRED: dict[str, set[str]] = {
    "evaluation_form": {"national_title", "motto", "agency", "place_date", "name", "period_label", "total",
                        "self_criteria", "manager_criteria"},
    "classification_form": {"national_title", "motto", "agency", "place_date", "name", "year", "total", "level_label"},
    "decision": {"national_title", "motto", "agency", "place_date", "number_line", "rows", "decider_name",
                 "decider_title"},
}
MAX_TEMPLATE_BYTES = 2 * 1024 * 1024


def _para(doc, text: str, bold: bool = False, italic: bool = False, center: bool = False, size: float | None = None):
    p = doc.add_paragraph()
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return p


def _cell_lines(cell, lines: list[tuple[str, bool, bool]]) -> None:
    first = True
    for text, bold, italic in lines:
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold, run.italic = bold, italic


def _loop_table(doc, head: list[str], loop: str, cells: list[str]) -> None:
    """A table whose middle row repeats for each item (docxtpl's {%tr %} rows)."""
    table = doc.add_table(rows=4, cols=len(head))
    table.style = "Table Grid"
    for i, h in enumerate(head):
        table.rows[0].cells[i].paragraphs[0].add_run(h).bold = True
    table.rows[1].cells[0].paragraphs[0].add_run("{%tr for " + loop + " %}")
    for i, c in enumerate(cells):
        table.rows[2].cells[i].paragraphs[0].add_run("{{ " + c + " }}")
    table.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}")


def _new_document():
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(13)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    heading = doc.add_table(rows=1, cols=2)
    _cell_lines(heading.rows[0].cells[0], [("{{ authority }}", False, False), ("{{ agency }}", True, False),
                                           ("{{ number_line }}", False, False)])
    _cell_lines(heading.rows[0].cells[1], [("{{ national_title }}", True, False), ("{{ motto }}", True, False),
                                           ("{{ place_date }}", False, True)])
    return doc


def _evaluation_form() -> Any:
    doc = _new_document()
    _para(doc, "{{ title }}", bold=True, center=True)
    for line in ("Họ và tên: {{ name }}", "Chức vụ, chức danh: {{ position }}", "Đơn vị công tác: {{ unit }}",
                 "Kỳ đánh giá: {{ period_label }}"):
        _para(doc, line)
    _para(doc, "Kết quả thực hiện nhiệm vụ", bold=True)
    _loop_table(doc, ["Tháng", "Số việc", "Điểm nhiệm vụ", "Điểm tiêu chí chung", "Tổng điểm"], "m in months",
                ["m.period", "m.items", "m.task_score", "m.general_score", "m.total"])
    _para(doc, "Tổng điểm của kỳ: {{ total }}")
    _para(doc, "I. PHẦN CÁ NHÂN TỰ ĐÁNH GIÁ", bold=True)
    _loop_table(doc, ["Tiêu chí chung", "Điểm tối đa", "Tự chấm"], "c in self_criteria", ["c.title", "c.max", "c.score"])
    _para(doc, "Tự nhận xét: {{ self_comment }}{{ self_assessment }}")
    _para(doc, "II. PHẦN ĐÁNH GIÁ CỦA NGƯỜI QUẢN LÝ TRỰC TIẾP", bold=True)
    _loop_table(doc, ["Tiêu chí chung", "Điểm tối đa", "Người quản lý chấm"], "c in manager_criteria",
                ["c.title", "c.max", "c.score"])
    _para(doc, "Nhận xét, đề xuất: {{ manager_comment }}{{ manager_proposal }}")
    _signature_table(doc, [("NGƯỜI TỰ ĐÁNH GIÁ", "{{ name }}"), ("NGƯỜI QUẢN LÝ TRỰC TIẾP", "{{ manager_name }}")])
    return doc


def _classification_form() -> Any:
    doc = _new_document()
    _para(doc, "{{ title }}", bold=True, center=True)
    for line in ("Họ và tên: {{ name }}", "Chức vụ, chức danh: {{ position }}", "Đơn vị công tác: {{ unit }}"):
        _para(doc, line)
    _para(doc, "I. KẾT QUẢ THEO DÕI, ĐÁNH GIÁ TRONG NĂM {{ year }}", bold=True)
    for line in ("Số tháng công tác được đánh giá: {{ months_worked }}",
                 "Điểm kết quả thực hiện nhiệm vụ (bình quân): {{ task_score }}",
                 "Tổng điểm bình quân năm: {{ total }}", "Mức xếp loại theo điểm: {{ computed_level }}"):
        _para(doc, line)
    _para(doc, "II. TỰ ĐÁNH GIÁ, XẾP LOẠI CỦA CÁ NHÂN", bold=True)
    _para(doc, "{{ self_assessment }}")
    _para(doc, "III. NHẬN XÉT, ĐÁNH GIÁ CỦA NGƯỜI QUẢN LÝ TRỰC TIẾP", bold=True)
    _para(doc, "{{ manager_comment }}")
    _para(doc, "IV. KẾT QUẢ XẾP LOẠI CHẤT LƯỢNG", bold=True)
    _para(doc, "Xếp loại: {{ level_label }} ({{ level }}) — kết quả {{ status }}.")
    _para(doc, "{{ notice }}")
    _signature_table(doc, [("NGƯỜI TỰ ĐÁNH GIÁ", "{{ name }}"), ("NGƯỜI QUẢN LÝ TRỰC TIẾP", "{{ manager_name }}")])
    return doc


def _decision() -> Any:
    doc = _new_document()
    _para(doc, "{{ title }}", bold=True, center=True, size=14)
    _para(doc, "{{ subject }}", bold=True, center=True)
    _para(doc, "{{ decider_title }}", bold=True, center=True)
    _para(doc, "Căn cứ Nghị định số 335/2025/NĐ-CP của Chính phủ quy định về đánh giá, xếp loại chất lượng cán bộ, "
               "công chức, viên chức;")
    _para(doc, "Căn cứ kết quả đánh giá, xếp loại chất lượng năm {{ year }} của {{ agency_name }};")
    _para(doc, "QUYẾT ĐỊNH:", bold=True, center=True)
    _para(doc, "Điều 1. Phê duyệt kết quả đánh giá, xếp loại chất lượng năm {{ year }} đối với {{ count }} người của "
               "{{ agency_name }} (danh sách kèm theo), trong đó: "
               "{% for c in counts %}{{ c.label }}: {{ c.count }}{% if not loop.last %}; {% endif %}{% endfor %}.")
    _para(doc, "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.")
    _para(doc, "Điều 3. Thủ trưởng các đơn vị và các cá nhân có tên trong danh sách chịu trách nhiệm thi hành "
               "Quyết định này.")
    _signature_table(doc, [("{{ decider_title }}", "{{ decider_name }}")])
    doc.add_page_break()
    _para(doc, "DANH SÁCH", bold=True, center=True)
    _para(doc, "(Kèm theo Quyết định số {{ number_ref }} {{ date_text }} của {{ agency_name }})", italic=True, center=True)
    _loop_table(doc, ["STT", "Họ và tên", "Chức vụ", "Đơn vị", "Điểm", "Xếp loại"], "r in rows",
                ["r.no", "r.name", "r.position", "r.unit", "r.total", "r.level_label"])
    return doc


def _signature_table(doc, pairs: list[tuple[str, str]]) -> None:
    table = doc.add_table(rows=1, cols=len(pairs))
    for cell, (title, name) in zip(table.rows[0].cells, pairs, strict=True):
        _cell_lines(cell, [(title, True, False), ("(Ký, ghi rõ họ tên)", False, True), ("", False, False),
                           ("", False, False), (name, True, False)])


BUILDERS = {"evaluation_form": _evaluation_form, "classification_form": _classification_form, "decision": _decision}


@cache
def default_template(kind: str) -> bytes:
    out = BytesIO()
    BUILDERS[kind]().save(out)
    return out.getvalue()


def placeholders(content: bytes) -> set[str]:
    """The names a template reads (loop variables excluded), or Invalid for a file that is
    not a DOCX template."""
    try:
        template = DocxTemplate(BytesIO(content))
        return set(template.get_undeclared_template_variables())
    except (BadZipFile, KeyError, ValueError) as exc:
        raise Invalid("Not a DOCX file.", {"file": ["Upload a Word document (.docx)."]}) from exc
    except TemplateError as exc:
        raise Invalid("The template does not parse.", {"file": [f"Template error: {exc}"]}) from exc


def check_template(kind: str, content: bytes) -> set[str]:
    """Refuse a template that lacks a required placeholder or names one the document does
    not provide (it would print blank); returns the placeholders it uses."""
    if len(content) > MAX_TEMPLATE_BYTES:
        raise Invalid("The template is too large.", {"file": [f"At most {MAX_TEMPLATE_BYTES // 1024} KiB."]})
    used = placeholders(content)
    missing, unknown = sorted(REQUIRED[kind] - used), sorted(used - PROVIDED[kind])
    errors = []
    if missing:
        errors.append("Missing placeholders: " + ", ".join(f"{{{{ {m} }}}}" for m in missing) + ".")
    if unknown:
        errors.append("Unknown placeholders: " + ", ".join(f"{{{{ {u} }}}}" for u in unknown) + ".")
    if errors:
        raise Invalid("The template is not usable for this document.", {"file": errors})
    try:
        render(content, sample(kind))
    except Exception as exc:  # noqa: BLE001 - any failure of a trial print refuses the template now
        raise Invalid("The template does not print.", {"file": [f"Template error: {str(exc)[:300]}"]}) from exc
    return used


LIST_FIELDS = {"months": ("period", "items", "task_score", "general_score", "total", "provisional"),
               "self_criteria": ("title", "max", "score"), "manager_criteria": ("title", "max", "score"),
               "rows": ("no", "name", "code", "position", "unit", "total", "level", "level_label"),
               "counts": ("level", "label", "count")}


def sample(kind: str) -> dict[str, Any]:
    """A context of the document's shape (every name, lists of two rows) for a trial print."""
    ctx: dict[str, Any] = {}
    for name in PROVIDED[kind]:
        fields = LIST_FIELDS.get(name)
        ctx[name] = [{f: f"{f} {i}" for f in fields} for i in (1, 2)] if fields else name
    return ctx


def render(template: bytes, ctx: dict[str, Any]) -> bytes:
    """The document from a template (checked at upload, so it prints)."""
    doc = DocxTemplate(BytesIO(template))
    doc.render(ctx, autoescape=True)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()
