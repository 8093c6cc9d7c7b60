"""Exports of scores, classifications and bonus as xlsx or csv, with Vietnamese headers.

An export kind is a small function returning its headers and a stream of rows; the
writers below turn any of them into a file. Text cells that a spreadsheet would take
for a formula (starting with =, +, -, @, tab or carriage return) are prefixed with an
apostrophe, so a name like "=HYPERLINK(…)" typed into the system stays text.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.errors import Invalid, NotFound
from core.extensions import db
from core.org.models import Employee, OrgUnit
from core.plugins.toolkit import period_bounds

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def escape(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: text that starts like a formula gets a
    leading apostrophe; numbers, dates and booleans are left as they are."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


@dataclass
class Export:
    name: str  # the file's base name
    headers: list[str]
    rows: Iterable[list[Any]]


def _scores(period: str | None, year: str | None) -> Export:
    from core.scoring.models import PeriodScore

    if not period:
        raise Invalid("A period is required.", {"period": ["Give a month, e.g. 2026-10."]})
    try:
        period_bounds(period)
    except ValueError as exc:
        raise Invalid("Not a period.", {"period": [str(exc)]}) from exc
    stmt = (select(Employee.code, Employee.full_name, OrgUnit.code, OrgUnit.name, PeriodScore.period,
                   PeriodScore.task_score, PeriodScore.general_score, PeriodScore.total, PeriodScore.provisional,
                   PeriodScore.variant_key)
            .join(Employee, Employee.id == PeriodScore.employee_id).join(OrgUnit, OrgUnit.id == Employee.unit_id)
            .where(PeriodScore.period == period).order_by(OrgUnit.code, Employee.code))

    def rows() -> Iterator[list[Any]]:
        for r in db.session.execute(stmt.execution_options(yield_per=2000)):
            yield [r[0], r[1], r[2], r[3], r[4], float(r[5]), None if r[6] is None else float(r[6]), float(r[7]),
                   "Tạm tính" if r[8] else "Chính thức", r[9]]

    headers = ["Mã cán bộ", "Họ và tên", "Mã đơn vị", "Đơn vị", "Kỳ đánh giá", "Điểm nhiệm vụ (tối đa 70)",
               "Điểm tiêu chí chung (tối đa 30)", "Tổng điểm", "Trạng thái", "Phương pháp chấm"]
    return Export(f"diem-{period}", headers, rows())


def _not_yet(label: str) -> Callable[[str | None, str | None], Export]:
    def export(period: str | None, year: str | None) -> Export:
        # Classification and bonus are being built alongside and have no tables yet: a
        # 404 saying so, rather than an empty file that looks like "nobody".
        raise NotFound(f"Exports of {label} are not available yet.", code="not_available_yet")
    return export


EXPORTS: dict[str, Callable[[str | None, str | None], Export]] = {
    "scores": _scores,
    "classifications": _not_yet("classifications"),
    "bonus": _not_yet("bonus"),
}


def build(kind: str, period: str | None, year: str | None) -> Export:
    exporter = EXPORTS.get(kind)
    if exporter is None:
        raise NotFound("No such export.")
    return exporter(period, year)


def write_xlsx(export: Export) -> tempfile.SpooledTemporaryFile:
    """A write-only workbook (rows streamed to disk, not kept in memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(export.name[:31])
    bold = Font(bold=True)
    header = []
    for title in export.headers:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in export.rows:
        sheet.append([escape(value) for value in row])
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    workbook.save(out)
    out.seek(0)
    return out


def write_csv(export: Export) -> tempfile.SpooledTemporaryFile:
    """UTF-8 with a byte-order mark, so Excel opens Vietnamese text correctly."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(export.headers)
    for row in export.rows:
        writer.writerow(["" if value is None else escape(value) for value in row])
    text.flush()
    text.detach()
    out.seek(0)
    return out
