"""Leave records: recorded by a manager of the person or a tenant admin."""

from __future__ import annotations

from sqlalchemy import select

from core import unit_of_work
from core.audit.services import record
from core.auth.principal import Principal
from core.errors import Forbidden, Invalid, NotFound
from core.extensions import db
from core.org import services as org
from core.org.models import Employee
from core.work.models import LeaveRecord
from core.work.services.access import require_writer
from core.work.services.periods import ensure_open


def leave_view(r: LeaveRecord) -> dict:
    return {"id": r.id, "employee_id": r.employee_id, "start_date": r.start_date, "end_date": r.end_date,
            "kind": r.kind, "approved": r.approved, "reason": r.reason}


def _may_manage_leave(principal: Principal, employee_id: int) -> None:
    require_writer(principal)
    if not org.can_see_employee(principal, employee_id):
        raise Invalid("Unknown employee.", {"employee_id": ["No such employee."]})
    if principal.has_role("tenant_admin"):
        return
    if principal.employee_id != employee_id and org.manages(principal, employee_id):
        return
    raise Forbidden("Only a manager of this employee or a tenant admin records leave.")


def create_leave(principal: Principal, data: dict) -> LeaveRecord:
    _may_manage_leave(principal, data["employee_id"])
    if data["end_date"] < data["start_date"]:
        raise Invalid("The end date is before the start date.", {"end_date": ["Before the start date."]})
    ensure_open(data["start_date"], "start_date")
    ensure_open(data["end_date"], "end_date")
    row = LeaveRecord(**data)
    db.session.add(row)
    unit_of_work.changed(row)
    db.session.flush()
    record("leave.create", "leave", row.id, after=leave_view(row))
    return row


def get_leave(principal: Principal, leave_id: int) -> LeaveRecord:
    stmt = select(LeaveRecord).where(LeaveRecord.id == leave_id)
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(LeaveRecord.employee_id.in_(select(Employee.id).where(clause)))
    row = db.session.scalar(stmt)
    if row is None:
        raise NotFound("Leave record not found.")
    return row


def delete_leave(principal: Principal, row: LeaveRecord) -> None:
    _may_manage_leave(principal, row.employee_id)
    ensure_open(row.start_date, "start_date")
    ensure_open(row.end_date, "end_date")
    record("leave.delete", "leave", row.id, before=leave_view(row))
    unit_of_work.changed(row, gone=True)
    db.session.delete(row)
    db.session.flush()


def leave_query(principal: Principal, args: dict):
    stmt = select(LeaveRecord).order_by(LeaveRecord.start_date.desc(), LeaveRecord.id)
    clause = org.visible_employees_filter(principal)
    if clause is not None:
        stmt = stmt.where(LeaveRecord.employee_id.in_(select(Employee.id).where(clause)))
    if args.get("employee_id") is not None:
        stmt = stmt.where(LeaveRecord.employee_id == args["employee_id"])
    if args.get("from") is not None:
        stmt = stmt.where(LeaveRecord.end_date >= args["from"])
    if args.get("to") is not None:
        stmt = stmt.where(LeaveRecord.start_date <= args["to"])
    return stmt
