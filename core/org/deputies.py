"""Deputies' fields in charge (cấp phó phụ trách lĩnh vực): who answers for which units or
people, over which dates. The decree335 variant scores a deputy on the results of their
field, as it scores a head on their unit's (Decree 335/2025, Art. 15; docs/domain.md).

Writes are the tenant admin's, checked against the tenant and audited; the deputy's
months re-score when the transaction commits (core/scoring/services.py notes the change).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core import unit_of_work
from core.audit.services import record
from core.errors import Invalid, NotFound
from core.extensions import db
from core.org.models import DeputyField, Employee, OrgUnit


def field_view(f: DeputyField) -> dict:
    return {"id": f.id, "deputy_id": f.deputy_id, "unit_id": f.unit_id, "member_id": f.member_id,
            "start_date": f.start_date, "end_date": f.end_date}


def get_field(field_id: int) -> DeputyField:
    row = db.session.get(DeputyField, field_id)
    if row is None:
        raise NotFound("Field assignment not found.")
    return row


def _check_refs(data: dict) -> None:
    """Every id names a row of this tenant (the tenant filter hides the others): 422 with
    the field named, before anything is written."""
    errors: dict[str, list[str]] = {}
    if db.session.get(Employee, data["deputy_id"]) is None:
        errors["deputy_id"] = ["No such employee."]
    if data.get("unit_id") is not None and db.session.get(OrgUnit, data["unit_id"]) is None:
        errors["unit_id"] = ["No such unit."]
    if data.get("member_id") is not None and db.session.get(Employee, data["member_id"]) is None:
        errors["member_id"] = ["No such employee."]
    if errors:
        raise Invalid("The field names unknown people or units.", errors)


def create_field(data: dict) -> DeputyField:
    _check_refs(data)
    row = DeputyField(deputy_id=data["deputy_id"], unit_id=data.get("unit_id"), member_id=data.get("member_id"),
                      start_date=data["start_date"], end_date=data.get("end_date"))
    db.session.add(row)
    unit_of_work.changed(row)
    db.session.flush()
    record("deputy_field.create", "deputy_field", row.id, after=field_view(row))
    return row


def end_field(row: DeputyField, end_date: date | None) -> DeputyField:
    if end_date is not None and end_date < row.start_date:
        raise Invalid("The end date is before the start date.", {"end_date": ["Before the start date."]})
    before = field_view(row)
    row.end_date = end_date
    unit_of_work.changed(row)
    db.session.flush()
    record("deputy_field.update", "deputy_field", row.id, before=before, after=field_view(row))
    return row


def delete_field(row: DeputyField) -> None:
    before = field_view(row)
    unit_of_work.changed(row, gone=True)
    db.session.delete(row)
    db.session.flush()
    record("deputy_field.delete", "deputy_field", before["id"], before=before)


def fields_stmt(deputy_id: int | None = None):
    stmt = select(DeputyField).order_by(DeputyField.deputy_id, DeputyField.start_date, DeputyField.id)
    if deputy_id is not None:
        stmt = stmt.where(DeputyField.deputy_id == deputy_id)
    return stmt
