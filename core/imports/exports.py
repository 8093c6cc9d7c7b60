"""Exports of scores, classifications and bonus as xlsx or csv, with headers in the reader's
language (Vietnamese unless asked otherwise), through the message catalogue.

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

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Invalid, NotFound
from core.extensions import db
from core.org.models import Employee, OrgUnit
from core.periods import period_bounds

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
    quarter = len(period) == 7 and period[5] == "Q"
    if quarter:
        from core.scoring.services import quarter_months

        where = [PeriodScore.period.in_(quarter_months(period)), PeriodScore.item_count > 0]
    else:
        where = [PeriodScore.period == period]
    stmt = (select(Employee.code, Employee.full_name, OrgUnit.code, OrgUnit.name, PeriodScore.period,
                   PeriodScore.task_score, PeriodScore.general_score, PeriodScore.total, PeriodScore.provisional,
                   PeriodScore.variant_key, PeriodScore.employee_id, PeriodScore.item_count, PeriodScore.working_days)
            .join(Employee, Employee.id == PeriodScore.employee_id).join(OrgUnit, OrgUnit.id == Employee.unit_id)
            .where(*where).order_by(OrgUnit.code, Employee.code, PeriodScore.period))

    def row_of(r, task, general, total, provisional, label) -> list[Any]:
        return [r[0], r[1], r[2], r[3], label, float(task), None if general is None else float(general), float(total),
                _("Provisional") if provisional else _("Official"), r[9]]

    def rows() -> Iterator[list[Any]]:
        if not quarter:
            for r in db.session.execute(stmt.execution_options(yield_per=2000)):
                yield row_of(r, r[5], r[6], r[7], r[8], r[4])
            return
        # A quarter is exported as it is evaluated: rolled up from its months with items
        # (the person's rows come together, ordered, so one pass streams them).
        from core.scoring.services import rollup

        group: list = []
        for r in db.session.execute(stmt.execution_options(yield_per=2000)):
            if group and group[-1][10] != r[10]:
                yield _quarter_row(group, rollup, row_of, period)
                group = []
            group.append(r)
        if group:
            yield _quarter_row(group, rollup, row_of, period)

    headers = [_("Employee code"), _("Full name"), _("Unit code"), _("Unit"), _("Assessment period"),
               _("Task score (at most 70)"), _("General criteria score (at most 30)"), _("Total score"), _("State"),
               _("Scoring method")]
    return Export(f"diem-{period}", headers, rows())


def _quarter_row(group: list, rollup: Callable, row_of: Callable, period: str) -> list[Any]:
    from types import SimpleNamespace

    months = [SimpleNamespace(task_score=r[5], general_score=r[6], total=r[7], provisional=r[8], item_count=r[11],
                              working_days=r[12]) for r in group]
    part = rollup(months)
    return row_of(group[-1], part["task_score"], part["general_score"], part["total"], part["provisional"], period)


LEVEL_NAMES = {"HTXS": "Hoàn thành xuất sắc nhiệm vụ", "HTT": "Hoàn thành tốt nhiệm vụ",
               "HT": "Hoàn thành nhiệm vụ", "KHT": "Không hoàn thành nhiệm vụ"}


def _year(year: str | None) -> int:
    if not year or not year.isdigit() or len(year) != 4:
        raise Invalid("A year is required.", {"year": ["Give a year, e.g. 2026."]})
    return int(year)


def _level(code: str | None) -> str | None:
    return f"{code} – {LEVEL_NAMES[code]}" if code in LEVEL_NAMES else code


def _classifications(period: str | None, year: str | None) -> Export:
    from core.classification.models import ClassificationYear
    from core.classification.models import EmployeeClassification as EC

    y = _year(year)
    state = db.session.scalar(select(ClassificationYear.status).where(ClassificationYear.year == y))
    stmt = (select(Employee.code, Employee.full_name, OrgUnit.code, OrgUnit.name, EC.year, EC.total, EC.task_score,
                   EC.months_worked, EC.computed_level, EC.demoted_by_quota, EC.override_level, EC.override_reason)
            .join(Employee, Employee.id == EC.employee_id).join(OrgUnit, OrgUnit.id == EC.unit_id)
            .where(EC.year == y).order_by(OrgUnit.code, Employee.code))

    def rows() -> Iterator[list[Any]]:
        for r in db.session.execute(stmt.execution_options(yield_per=2000)):
            final = r[10] or r[8]
            yield [r[0], r[1], r[2], r[3], r[4], None if r[5] is None else float(r[5]),
                   None if r[6] is None else float(r[6]), r[7], _level(r[8]), _("Yes") if r[9] else _("No"),
                   _level(r[10]), r[11], _level(final), _("Official") if state == "final" else _("Expected")]

    headers = [_("Employee code"), _("Full name"), _("Unit code"), _("Unit"), _("Year"), _("Average total score"),
               _("Task score"), _("Months in service"), _("Level by score"), _("Demoted by the quota"), _("Adjusted level"),
               _("Reason for the adjustment"), _("Classification level"), _("State")]
    return Export(f"xep-loai-{y}", headers, rows())


def _bonus(period: str | None, year: str | None) -> Export:
    from core.bonus.models import BonusAllocation as BA
    from core.bonus.models import BonusRun

    y = _year(year)
    run = db.session.scalar(select(BonusRun).where(BonusRun.year == y, BonusRun.status == "finished")
                            .order_by(BonusRun.finished_at.desc(), BonusRun.id.desc()).limit(1))
    if run is None:
        raise NotFound(f"No bonus run has finished for {y}.", code="no_bonus_run")
    stmt = (select(Employee.code, Employee.full_name, OrgUnit.code, OrgUnit.name, BA.level, BA.months_worked,
                   BA.amount)
            .join(Employee, Employee.id == BA.employee_id).join(OrgUnit, OrgUnit.id == Employee.unit_id)
            .where(BA.bonus_run_id == run.id).order_by(OrgUnit.code, Employee.code))

    def rows() -> Iterator[list[Any]]:
        for r in db.session.execute(stmt.execution_options(yield_per=2000)):
            yield [r[0], r[1], r[2], r[3], y, _level(r[4]), r[5], int(r[6])]

    headers = [_("Employee code"), _("Full name"), _("Unit code"), _("Unit"), _("Year"), _("Classification level"),
               _("Months in service"), _("Bonus (đồng)")]
    return Export(f"tien-thuong-{y}", headers, rows())


EXPORTS: dict[str, Callable[[str | None, str | None], Export]] = {
    "scores": _scores,
    "classifications": _classifications,
    "bonus": _bonus,
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
