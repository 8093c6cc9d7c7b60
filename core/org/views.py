"""The tenant home: the units and the people the signed-in user may see."""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from core.auth.normalize import nfc
from core.classification import procedure
from core.extensions import db
from core.org import services
from core.org.models import Employee, OrgUnit

org_pages = Blueprint("org_pages", __name__, template_folder="templates")
PAGE_SIZE = 25  # a phone's few screens; the search (and the admin's paged screen) finds the rest


@org_pages.get("/t/<t>/")
@login_required
def home(t):
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    q = nfc(request.args.get("q", "")).strip()[:100]  # names are stored NFC
    stmt = select(Employee).order_by(Employee.full_name)
    clause = services.visible_employees_filter(current_user)
    if clause is not None:
        stmt = stmt.where(clause)
    if q:
        stmt = stmt.where(or_(Employee.full_name.ilike(f"%{q}%"), Employee.code.ilike(f"%{q}%")))
    people_total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    people = db.session.scalars(stmt.limit(PAGE_SIZE)).unique().all()
    units = db.session.scalars(_units_shown().order_by(OrgUnit.kind, OrgUnit.name)).all()
    return render_template("org/home.html", tenant=g.tenant, units=units, people=people,
                           people_total=people_total, q=q, page_size=PAGE_SIZE,
                           self_assessment=procedure.self_assessment_due(current_user))


def _units_shown():
    """Tenant admins and auditors see every unit; anyone else their own unit (with the
    units under it, for a manager): a province's hundred units are nobody's daily page."""
    stmt = select(OrgUnit)
    if current_user.has_role("tenant_admin", "auditor"):
        return stmt
    unit_id = db.session.scalar(select(Employee.unit_id).where(Employee.id == current_user.employee_id)) \
        if current_user.employee_id else None
    if unit_id is None:
        return stmt.where(OrgUnit.id.is_(None))
    ids = services.unit_subtree_ids(unit_id) if current_user.has_role("manager") else {unit_id}
    return stmt.where(OrgUnit.id.in_(sorted(ids)))
