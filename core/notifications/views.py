"""The person's notifications page ("Thông báo") and the unread badge every page's header
shows.

The page lists the signed-in person's notifications, newest first and paged, the unread
ones marked. Opening one is a POST (with the CSRF token) that marks it read and goes to
what it is about; "mark all read" is one POST too. Neither is audited: a reading mark
changes nobody's work, scores or rights (tests/audit/test_audit_actor.py, NOT_AUDITED_HERE),
as for the API's `…/notifications/{id}/read`.
"""

from __future__ import annotations

import logging
from math import ceil

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from core import unit_of_work
from core.errors import NotFound
from core.notifications import services

notification_pages = Blueprint("notification_pages", __name__, template_folder="templates")
PER_PAGE = 25
log = logging.getLogger(__name__)


def _member() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)


def _page_number() -> int:
    value = request.args.get("page", "1")
    if not value.isdigit() or len(value) > 6 or int(value) < 1:
        abort(400)
    return int(value)


@notification_pages.get("/t/<t>/notifications")
@login_required
def inbox(t):
    _member()
    number = _page_number()
    items, total = services.page(current_user, number, PER_PAGE)
    pages = max(1, ceil(total / PER_PAGE))
    if number > pages:
        items, number = services.page(current_user, pages, PER_PAGE)[0], pages
    root = request.script_root
    for n in items:
        n["target"] = services.target(n["link"], g.tenant.slug, root)
    return render_template("notifications/inbox.html", tenant=g.tenant, items=items, total=total, page=number,
                           pages=pages, unread=unread_badge(), has_employee=current_user.employee_id is not None)


@notification_pages.post("/t/<t>/notifications/<int:notification_id>/read")
@login_required
def read_one(t, notification_id):
    """Mark one of my notifications read and open what it is about (or come back to the
    list when it is about nothing that has a page)."""
    _member()
    try:
        n = services.mark_read(current_user, notification_id)
    except NotFound:
        abort(404)  # another person's, another tenant's, or none: all the same
    link = services.target(n.link, g.tenant.slug, request.script_root)
    unit_of_work.commit()
    return redirect(link or url_for("notification_pages.inbox", t=t, page=_back_page()) + f"#n-{notification_id}")


@notification_pages.post("/t/<t>/notifications/read")
@login_required
def read_all(t):
    _member()
    services.mark_all_read(current_user)
    unit_of_work.commit()
    return redirect(url_for("notification_pages.inbox", t=t))


def _back_page() -> int | None:
    value = request.form.get("page", "")
    return int(value) if value.isdigit() and len(value) <= 6 and int(value) > 1 else None


def unread_badge() -> int | None:
    """The signed-in person's unread count for the header, read once per request (the
    header and the page ask for it both); None where there is no inbox to show: not signed
    in, an operator, a login without an employee record, or no tenant page."""
    if "unread_notifications" in g:
        return g.unread_notifications
    tenant = g.get("tenant")
    count = None
    if (tenant is not None and current_user.is_authenticated and not current_user.is_operator
            and current_user.tenant_id == tenant.id and current_user.employee_id is not None):
        try:
            count = services.unread_count(current_user)
        except SQLAlchemyError:
            # An error page after a statement the database refused: the header does without
            # its badge rather than turning the page into a second error.
            log.debug("no unread count for the header", exc_info=True)
    g.unread_notifications = count
    return count


@notification_pages.app_context_processor
def _badge_context() -> dict:
    return {"unread_notifications": unread_badge,
            "notice_target": lambda link: services.target(link, g.tenant.slug, request.script_root)}
