"""The tenant's calendar days (holidays, working weekends) and working-day counts."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core import unit_of_work
from core.audit.services import record
from core.auth.principal import Principal
from core.errors import Invalid, NotFound
from core.extensions import db
from core.org import services as org
from core.work import calendar as cal
from core.work.models import CalendarDay
from core.work.services.periods import ensure_open


def calendar_day_view(r: CalendarDay) -> dict:
    return {"id": r.id, "day": r.day, "kind": r.kind, "name": r.name}


def set_calendar_day(data: dict) -> CalendarDay:
    ensure_open(data["day"], "day")
    row = db.session.scalar(select(CalendarDay).where(CalendarDay.day == data["day"]))
    before = calendar_day_view(row) if row else None
    if row is None:
        row = CalendarDay(day=data["day"])
        db.session.add(row)
    row.kind, row.name = data["kind"], data.get("name")
    unit_of_work.changed(row)
    db.session.flush()
    record("calendar_day.set", "calendar_day", row.id, before=before, after=calendar_day_view(row))
    return row


def get_calendar_day(day_id: int) -> CalendarDay:
    row = db.session.get(CalendarDay, day_id)
    if row is None:
        raise NotFound("Calendar day not found.")
    return row


def delete_calendar_day(row: CalendarDay) -> None:
    ensure_open(row.day, "day")
    record("calendar_day.delete", "calendar_day", row.id, before=calendar_day_view(row))
    unit_of_work.changed(row, gone=True)
    db.session.delete(row)
    db.session.flush()


def working_days_view(principal: Principal, start: date, end: date, employee_id: int | None) -> dict:
    if end < start:
        raise Invalid("The end is before the start.", {"to": ["Before from."]})
    if (end - start).days > 366:
        raise Invalid("At most a year at a time.", {"to": ["At most 366 days after from."]})
    if employee_id is not None:
        if not org.can_see_employee(principal, employee_id):
            raise NotFound("Employee not found.")
        days = cal.employee_working_days(employee_id, start, end)
    else:
        days = cal.WorkCalendar.load(start, end).working_days(start, end)
    return {"from_": start, "to": end, "employee_id": employee_id, "count": len(days), "days": days}
