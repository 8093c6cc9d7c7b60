"""The tenant home: the units and the people the signed-in user may see."""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request
from flask_login import current_user, login_required

from core.auth.normalize import nfc
from core.classification import procedure
from core.org import services
from core.pagination import page_and_total
from core.work import calendar as work_calendar
from core.work import services as work

org_pages = Blueprint("org_pages", __name__, template_folder="templates")
PAGE_SIZE = 25  # a phone's few screens; the search (and the admin's paged screen) finds the rest


@org_pages.get("/t/<t>/")
@login_required
def home(t):
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)
    q = nfc(request.args.get("q", "")).strip()[:100]  # names are stored NFC
    people, people_total = page_and_total(services.visible_people(current_user, q or None), 1, PAGE_SIZE)
    units = services.home_units(current_user)
    # The first screen answers "what do I do now?": one's own day, and what waits for a manager.
    day = work_calendar.local_today(g.tenant)
    glance = work.day_glance(current_user.employee_id, day) if current_user.employee_id else None
    return render_template("org/home.html", tenant=g.tenant, units=units, people=people,
                           people_total=people_total, q=q, page_size=PAGE_SIZE, day=day, glance=glance,
                           waiting_review=work.waiting_for_manager(current_user),
                           self_assessment=procedure.self_assessment_due(current_user),
                           waiting=procedure.waiting_for(current_user))

