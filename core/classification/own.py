"""One person's classification of a year as their own page shows it: the row, with its
latest appeal, and the recorded grounds when the level was forced to KHT."""

from __future__ import annotations

from sqlalchemy import select

from core.classification import services
from core.classification.models import ClassificationYear, DisciplineRecord, EmployeeClassification
from core.extensions import db


def own_row(employee_id: int | None, year: int) -> EmployeeClassification | None:
    if employee_id is None:
        return None
    return db.session.scalar(select(EmployeeClassification).where(
        EmployeeClassification.year == year, EmployeeClassification.employee_id == employee_id))


def own_view(row: EmployeeClassification, state: ClassificationYear | None) -> dict:
    """The row's view with the latest appeal its person filed that year."""
    return services.view(row, state, services.latest_appeals(row.year, [row.employee_id]).get(row.employee_id))


def kht_grounds(row: EmployeeClassification) -> list[str]:
    """The kinds of discipline (and other grounds) recorded that year, in the order decided;
    none unless the level was forced to KHT."""
    if not row.forced_kht:
        return []
    return list(db.session.scalars(
        select(DisciplineRecord.kind).where(DisciplineRecord.year == row.year,
                                            DisciplineRecord.employee_id == row.employee_id)
        .order_by(DisciplineRecord.decided_on, DisciplineRecord.id)))
