"""Pages of the yearly decisions: my classification and appeal (every employee), the
review of my unit (managers), and the province view (tenant admin, auditor): distribution
by unit, quota status, bonus runs and the reports. Forms post back and redirect."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core import unit_of_work
from core.bonus import services as bonus
from core.classification import own, procedure, services
from core.classification.finalize_blocks import finalize_blocks
from core.errors import ServiceError
from core.jobs.runner import get_run, submit
from core.messages import error_text
from core.notifications import services as notifications
from core.org import directory
from core.pagination import MAX_PER_PAGE
from core.plugins.components import LEVELS
from core.reports import services as reports
from core.tenants.choices import component_for
from core.work.calendar import local_today

classification_pages = Blueprint("classification_pages", __name__, template_folder="templates")
# Position groups as the quota table names them.
# The recorded grounds for KHT (core/classification/models.DISCIPLINE_KINDS), as the person reads them.
KHT_GROUND_LABELS = {
    "reprimand": _l("discipline: reprimand (khiển trách)"), "warning": _l("discipline: warning (cảnh cáo)"),
    "removal": _l("discipline: removal from post (cách chức)"),
    "dismissal": _l("discipline: dismissal (buộc thôi việc)"), "recall": _l("discipline: recall (bãi nhiệm)"),
    "demotion": _l("discipline: salary grade lowered (hạ bậc lương, before Decree 172/2025)"),
    "rank_demotion": _l("discipline: demoted in rank (giáng chức, before Decree 172/2025)"),
    "unit_corruption": _l("corruption or waste in the unit or field in charge"),
    "degradation": _l("degradation in political ideology, ethics or lifestyle"),
}
GROUP_LABELS = {"leadership": _l("leadership positions"), "professional": _l("professional positions"),
                "support": _l("support positions"), "none": _l("no position")}


def _member() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)


def _year() -> int:
    try:
        year = int(request.values.get("year") or local_today().year)
    except ValueError:
        abort(400)
    if not services.FIRST_YEAR <= year <= services.LAST_YEAR:
        abort(400)
    return year


def _flash_error(exc: ServiceError) -> None:
    flash(error_text(exc), "error")


def _all_rows(year: int, unit_id: int | None = None) -> list[dict]:
    rows: list[dict] = []
    page = 1
    while True:
        batch, headers = services.classifications(current_user, year, unit_id, {"page": page, "per_page": MAX_PER_PAGE})
        rows += batch
        if len(rows) >= int(headers["X-Total-Count"]) or not batch:
            return rows
        page += 1


# Streamlining candidates listed open on the province page; more fold under their counts
# (a province's list is a hundred people and more, two lines of grounds each).
STREAM_SHOWN = 10


def _names(ids) -> dict[int, tuple[str, str]]:
    return directory.employee_names_and_codes(ids)


# ---------------------------------------------------------------- my classification


@classification_pages.get("/t/<t>/classification")
@login_required
def mine(t):
    _member()
    year = _year()
    state = services.year_state(year)
    row = own.own_row(current_user.employee_id, year)
    view = own.own_view(row, state) if row is not None else None
    may_appeal = (view is not None and state is not None and state.status == "draft"
                  and services.now() <= state.appeal_until and not (view["appeal"] and view["appeal"]["status"] == "pending"))
    grounds = [KHT_GROUND_LABELS.get(kind, kind) for kind in own.kht_grounds(row)] if row is not None else []
    inbox, unread = notifications.inbox(current_user)
    # An agency under the procedure decides on the evaluation page: the draft's appeal date and
    # the decision's stored reason ("Decision 7") would mislead here.
    under_procedure = current_user.employee_id is not None and procedure.under_procedure(year, current_user.employee_id)
    return render_template("classification/mine.html", tenant=g.tenant, year=year, state=state, row=view,
                           kht_grounds=grounds, under_procedure=under_procedure,
                           may_appeal=may_appeal, inbox=inbox[:20], unread=unread,
                           is_manager=current_user.has_role("manager", "tenant_admin"),
                           is_admin=current_user.has_role("tenant_admin", "auditor"))


@classification_pages.post("/t/<t>/classification/<int:year>/appeal")
@login_required
def appeal(t, year):
    _member()
    try:
        services.file_appeal(current_user, year, current_user.employee_id or 0, request.form.get("reason", ""))
        unit_of_work.commit()
        flash(_("Your appeal was sent."), "ok")
    except ServiceError as exc:
        unit_of_work.rollback()
        _flash_error(exc)
    return redirect(url_for("classification_pages.mine", t=t, year=year))


# ---------------------------------------------------------------- the manager's review


@classification_pages.get("/t/<t>/classification/unit")
@login_required
def review(t):
    _member()
    if not current_user.has_role("manager", "tenant_admin"):
        abort(403)
    year = _year()
    state = services.year_state(year)
    rows = [r for r in _all_rows(year) if r["employee_id"] != current_user.employee_id]
    pending = [a for a in services.appeals(current_user, year, "pending") if a["employee_id"] != current_user.employee_id]
    names = _names({r["employee_id"] for r in rows} | {a["employee_id"] for a in pending})
    return render_template("classification/review.html", tenant=g.tenant, year=year, state=state, rows=rows,
                           names=names, pending=pending, levels=LEVELS,
                           editable=state is not None and state.status == "draft")


@classification_pages.post("/t/<t>/classification/<int:year>/<int:employee_id>/override")
@login_required
def override(t, year, employee_id):
    _member()
    try:
        services.override(current_user, year, employee_id, request.form.get("level", ""), request.form.get("reason", ""))
        unit_of_work.commit()
        flash(_("Saved."), "ok")
    except ServiceError as exc:
        unit_of_work.rollback()
        _flash_error(exc)
    return redirect(url_for("classification_pages.review", t=t, year=year))


@classification_pages.post("/t/<t>/classification/appeals/<int:appeal_id>/resolve")
@login_required
def resolve(t, appeal_id):
    _member()
    year = _year()
    try:
        services.resolve_appeal(current_user, appeal_id, request.form.get("decision", ""), request.form.get("reason", ""),
                                request.form.get("level") or None)
        unit_of_work.commit()
        flash(_("Saved."), "ok")
    except ServiceError as exc:
        unit_of_work.rollback()
        _flash_error(exc)
    return redirect(url_for("classification_pages.review", t=t, year=year))


# ---------------------------------------------------------------- the province view


def _quota_status(rows: list[dict], ratio: Fraction, units: dict[int, str]) -> list[dict]:
    groups: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        if r["level"] in ("HTXS", "HTT"):
            groups[r["quota_group"]][r["level"]] += 1
        if r["demoted_by_quota"]:
            groups[r["quota_group"]]["demoted"] += 1
    out = []
    for key, c in sorted(groups.items()):
        agency, _sep, group = key.partition(":")
        allowed = int(c["HTT"] * ratio)  # the quota's check: HTXS ≤ ratio × the final HTT
        out.append({"agency": units.get(int(agency)) if agency.isdigit() else agency,
                    "group": str(GROUP_LABELS.get(group, group)),
                    "htxs": c["HTXS"], "htt": c["HTT"], "demoted": c["demoted"], "within": c["HTXS"] <= allowed})
    return out


def _quota_ratio(year: int) -> Fraction:
    try:
        chosen = component_for("classification_scheme", date(year, 12, 31))
    except ServiceError:
        return Fraction(1, 5)  # no scheme usable: show the national 20 %; the admin page warns about the scheme
    return Fraction(Decimal(str(chosen.settings.get("quota_ratio", "0.2"))))


@classification_pages.get("/t/<t>/classification/province")
@login_required
def province(t):
    _member()
    if not current_user.has_role("tenant_admin", "auditor"):
        abort(403)
    year = _year()
    state = services.year_state(year)
    rows = _all_rows(year) if state is not None else []
    # One query for every unit's name and parent: many communes have a "Phòng Kinh tế", and
    # the parent's name (the commune or agency) tells them apart.
    tree = directory.unit_tree()
    units = {i: n for i, (n, _p) in tree.items()}
    by_unit: dict[int, Counter] = defaultdict(Counter)
    for r in rows:
        by_unit[r["unit_id"]][r["level"] or "none"] += 1
    distribution = sorted(({"unit": units.get(u, u), "parent": units.get(tree[u][1]) if u in tree else None,
                            "counts": c, "total": sum(c.values())} for u, c in by_unit.items()),
                          key=lambda d: (str(d["unit"]), d["parent"] or ""))
    totals = Counter(r["level"] or "none" for r in rows)
    streamlining = reports.streamlining(current_user, year)
    # How many candidates stand on each ground (a person may stand on both).
    stream_grounds = {kind: sum(any(g["kind"] == kind for g in c["grounds"]) for c in streamlining["candidates"])
                      for kind in ("kht", "surplus")}
    return render_template("classification/province.html", tenant=g.tenant, year=year, state=state,
                           distribution=distribution, totals=totals, people=len(rows), levels=(*LEVELS, "none"),
                           quota=_quota_status(rows, _quota_ratio(year), units), runs=bonus.runs(year), streamlining=streamlining,
                           stream_grounds=stream_grounds, stream_folded=len(streamlining["candidates"]) > STREAM_SHOWN,
                           paying_units=directory.paying_units(), unit_names=units,
                           names=_names(c["employee_id"] for c in streamlining["candidates"]),
                           may_act=current_user.has_role("tenant_admin"))


@classification_pages.get("/t/<t>/classification/<int:year>/finalize")
@login_required
def finalize_confirm(t, year):
    """The confirmation step of finalising: what locking the year does and what blocks it."""
    _member()
    if not current_user.has_role("tenant_admin"):
        abort(403)
    if not services.FIRST_YEAR <= year <= services.LAST_YEAR:
        abort(404)
    state = services.year_state(year)
    if state is None or state.status != "draft":
        return redirect(url_for("classification_pages.province", t=t, year=year))
    return _confirm_page(year, state)


def _confirm_page(year: int, state, error: str | None = None, status: int = 200):
    return render_template("classification/finalize.html", tenant=g.tenant, year=year, state=state,
                           blocks=finalize_blocks(year), error=error), status


def _admin_action(t: str, year: int, action, done: str | None = None) -> object:
    """Run an admin action and go back to the province page; an action that starts a job
    returns the job's id, and the page then shows its progress bar inline. `done` says
    what a finished action did (default "Done.")."""
    _member()
    if not current_user.has_role("tenant_admin"):
        abort(403)
    job = None
    try:
        started = action()
        job = started if isinstance(started, str) else None
        unit_of_work.commit()
        run = get_run(job) if job else None
        if run is None or run.status == "finished":
            flash(done or _("Done."), "ok")
        else:
            flash(_("Started: its progress is shown below."), "ok")
    except ServiceError as exc:
        unit_of_work.rollback()
        _flash_error(exc)
    return redirect(url_for("classification_pages.province", t=t, year=year, job=job))


@classification_pages.post("/t/<t>/classification/<int:year>/run")
@login_required
def run(t, year):
    def start():
        services.check_runnable(year)
        job = submit("classification", str(year), {"year": year}, current_user.actor)
        if job.status == "failed":
            raise ServiceError(_("The classification failed: %(error)s", error=job.error))
        return job.id
    return _admin_action(t, year, start)


@classification_pages.post("/t/<t>/classification/<int:year>/finalize")
@login_required
def finalize(t, year):
    """Locks the year only with the confirmation page's box ticked: one click on the
    province page must not end every change of the year."""
    _member()
    if not current_user.has_role("tenant_admin"):
        abort(403)
    if request.form.get("confirm") != "yes" and services.FIRST_YEAR <= year <= services.LAST_YEAR:
        state = services.year_state(year)
        if state is not None and state.status == "draft":
            return _confirm_page(year, state, _("Tick the box to confirm that the year is locked."), 422)
    # Anything else the service refuses with its reason (not classified, already final, bad year).
    # What locking did and what comes next, not a bare "Done." on a page of bars.
    return _admin_action(t, year, lambda: services.finalize(current_user, year),
                         done=_("The classification of %(year)s is final: the levels are locked and every person "
                                "classified is notified. The bonus can now be shared below.", year=year))


@classification_pages.post("/t/<t>/classification/<int:year>/bonus")
@login_required
def start_bonus(t, year):
    def start():
        raw = request.form.get("fund", "").replace(".", "").replace(",", "").strip()
        if raw and not raw.isdigit():
            raise ServiceError(_("Invalid number."), {"fund": [_("Whole đồng, digits only.")]})
        unit_raw = request.form.get("paying_unit_id", "").strip()
        if unit_raw and not unit_raw.isdigit():
            raise ServiceError(_("Invalid number."), {"paying_unit_id": [_("Choose a paying unit.")]})
        pct_raw = request.form.get("adhoc_percent", "").replace(",", ".").strip()
        try:
            percent = Decimal(pct_raw) if pct_raw else None
        except ArithmeticError:
            percent = Decimal(-1)  # refused by the service with its field error
        if percent is not None and not percent.is_finite():
            percent = Decimal(-1)
        return bonus.start_run(current_user, year, int(raw) if raw else None,
                               int(unit_raw) if unit_raw else None, percent).job_id
    return _admin_action(t, year, start)


@classification_pages.get("/t/<t>/classification/bonus/<int:run_id>")
@login_required
def bonus_run(t, run_id):
    _member()
    if not current_user.has_role("tenant_admin", "auditor"):
        abort(403)
    try:
        run_row = bonus.get_run(run_id)
    except ServiceError:
        abort(404)
    view = bonus.run_view(run_row, with_allocations=False)
    paying_unit = directory.unit_names([view["paying_unit_id"]]).get(view["paying_unit_id"]) \
        if view["paying_unit_id"] else None
    # A province's run is thousands of people: a page of 50 by name, a search that reads
    # names typed without marks, and the totals by level above them.
    q = request.args.get("q", "").strip()[:100]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 1_000_000))
    allocations, matching = bonus.allocations_page(run_row.id, q, page, bonus.ALLOCATIONS_PAGE)
    levels = bonus.allocation_levels(run_row.id)
    return render_template("classification/bonus.html", tenant=g.tenant, run=view, paying_unit=paying_unit,
                           allocations=allocations, matching=matching, levels=levels, q=q, page=page,
                           page_size=bonus.ALLOCATIONS_PAGE, people=sum(r["people"] for r in levels),
                           total_amount=sum(r["amount"] for r in levels))


@classification_pages.app_template_global("scheme_title")
def scheme_title(kind: str, key: str | None, version: str | None = None) -> str:
    """A scheme as people know it (its title, "Nghị định 335/2025 …"), not its key; the key
    when the component is not installed any more."""
    from flask_babel import get_locale

    from core.plugins.manager import current_manager, current_tenant_slug

    if not key:
        return "—"
    found = current_manager().registered(kind, key, current_tenant_slug(), version) or \
        current_manager().registered(kind, key, current_tenant_slug())
    return found.component.title(str(get_locale() or "vi")) if found is not None and found.component.title() else key


@classification_pages.app_template_filter("local_day")
def local_day(moment) -> str:
    """A moment as the tenant's people read its day (12/12/2026)."""
    return services.local_day(moment)
