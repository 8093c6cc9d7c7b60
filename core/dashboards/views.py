"""Dashboards: my month and my trend (every employee), the unit (managers), the province
(tenant admin and auditor), jobs with live progress, and the operator's overview.

Pages render tables first; charts are drawn over the same numbers by
static/js/charts.js from `data-chart` attributes (the CSP allows no inline script).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from core import unit_of_work
from core.dashboards import overview, services
from core.errors import ServiceError
from core.i18n import day_label, month_input, month_label, num
from core.ids import MAX_ID
from core.jobs.models import JobRun
from core.jobs.runner import ACTIVE, get_run, latest_runs, run_view, submit
from core.messages import error_text
from core.org import services as org
from core.plugins.components import ITEM_FIELD_LABELS
from core.plugins.forms import stored_settings_lines
from core.plugins.manager import ComponentMissing
from core.scoring import kernel, scorer
from core.scoring import services as scoring
from core.scoring.models import GENERAL_FIELDS, GENERAL_LABELS
from core.work import calendar as cal

dashboard_pages = Blueprint("dashboard_pages", __name__, template_folder="templates")
JOBS_SHOWN = 50
TREND_KINDS = ("day", "week", "month", "quarter")


def _member() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)


def _require(*roles: str) -> None:
    _member()
    if not current_user.has_role(*roles):
        abort(403)


def _period() -> str:
    value = request.args.get("period", "").strip()[:16] or None
    value = (month_input(value) or value[:10]) if value else None  # "12/2026" as typed, or a link's 2026-12
    try:
        return services.check_month(value, cal.local_today(g.tenant))
    except ServiceError as exc:
        raise ServiceError(_("Not a month: use YYYY-MM, for example 2026-10."), exc.errors) from exc


def _period_or_quarter(unit_id: int | None = None) -> str:
    """A month or, on the unit and province dashboards, a quarter (2026-Q4); none given opens
    the quarter where the tenant (or the unit's agency) evaluates by quarters."""
    value = request.args.get("period", "").strip()[:16] or None
    if value and services.is_quarter(value[:7]) and len(value) == 7:
        return services.check_period(value, cal.local_today(g.tenant))
    if value is None and services.quarterly_by_default(unit_id):
        return services.check_period(None, cal.local_today(g.tenant), quarterly=True)
    return _period()


def _state(period: str) -> dict:
    """A quarter's state from its months: stale when one is, closed when all are."""
    months = [scoring.period_state(m) for m in services.period_months(period)]
    if len(months) == 1:
        return months[0]
    stale = next((m for m in months if m["stale"]), None)
    return {"period": period, "closed": all(m["closed"] for m in months), "stale": stale is not None,
            "stale_reason": stale["stale_reason"] if stale else None}


def _fresh(period: str, ids: list[int] | None = None) -> dict:
    """Pending changes in any month of the period; the latest refresh of them."""
    parts = [scorer.freshness(m, ids) for m in services.period_months(period)]
    moments = [p["refreshed_at"] for p in parts if p["refreshed_at"]]
    return {"pending": any(p["pending"] for p in parts), "refreshed_at": max(moments) if moments else None}


def _toggle(period: str) -> str:
    """The same page by quarter (from a month) or by month (from a quarter: its last month
    up to this one)."""
    if not services.is_quarter(period):
        return services.scoring.quarter_of(period)
    this = kernel.month_of(cal.local_today(g.tenant))
    months = services.period_months(period)
    return this if this in months else months[-1]


@dashboard_pages.app_template_global("period_started")
def period_started(period: str) -> bool:
    """Whether a month or quarter has begun: the period navigation offers no later one (a
    month to come has nothing to show)."""
    this = kernel.month_of(cal.local_today(g.tenant))
    return services.period_months(period)[0] <= this


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_ID:
        abort(400)
    return int(value)


def chart(kind: str, labels: list[str], series: list[dict[str, Any]], **options: Any) -> str:
    """The JSON the chart script reads from a data-chart attribute."""
    return json.dumps({"type": kind, "labels": labels, "series": series, **options}, ensure_ascii=False)


def _flash_error(exc: ServiceError) -> None:
    flash(error_text(exc), "error")


# ---------------------------------------------------------------- my month


def _month_page(employee_id: int, period: str, template_args: dict) -> str:
    try:
        month = services.my_month(current_user, employee_id, period)
        missing = None
    except ComponentMissing as exc:
        month, missing = None, exc.message
    employee = services.page_employee(employee_id)
    month, general_period, general_closed = services.month_general(month, employee_id, period)
    rule = rule_words(month["explain"]["formula"], _locale()) if month else None
    return render_template("dashboards/month.html", tenant=g.tenant, period=period, month=month,
                           missing=missing, employee=employee, fields=GENERAL_FIELDS, rule=rule,
                           general_period=general_period, general_closed=general_closed,
                           fresh=scorer.freshness(period, [employee_id]),
                           prev_period=services.shift_month(period, -1), next_period=services.shift_month(period, 1),
                           **template_args)


@dashboard_pages.get("/t/<t>/me")
@login_required
def my_month(t):
    _member()
    period = _period()
    if current_user.employee_id is None:
        return render_template("dashboards/no_employee.html", tenant=g.tenant), 200
    return _month_page(current_user.employee_id, period, {"mine": True, "may_set": False})


@dashboard_pages.post("/t/<t>/me/general")
@login_required
def propose_general(t):
    _member()
    period, page = _criteria_period()
    if current_user.employee_id is None:
        abort(403)
    form = _save_general(current_user.employee_id, period, own=True)
    if form is not None:  # the page again, the form as typed, each error beside its field
        return _month_page(current_user.employee_id, page, {"mine": True, "may_set": False,
                                                             "general_form": form}), 422
    return redirect(url_for("dashboard_pages.my_month", t=t, period=page) + "#general")


def _period_form() -> str:
    value = request.form.get("period", "").strip()[:16]
    value = month_input(value) or value[:10]
    try:
        return services.check_month(value or None, cal.local_today(g.tenant))
    except ServiceError as exc:
        raise ServiceError(_("Not a month: use YYYY-MM, for example 2026-10."), exc.errors) from exc


def _criteria_period() -> tuple[str, str]:
    """The period general criteria are set for (a month, or a quarterly person's quarter)
    and the month of the page they were set on."""
    value = request.form.get("period", "").strip()[:16]
    if services.is_quarter(value[:7]) and len(value) == 7:
        month = request.form.get("month", "").strip()[:7]
        page = month if kernel.is_month(month) and scoring.quarter_of(month) == value else \
            scoring.quarter_months(value)[-1]
        return services.check_period(value, cal.local_today(g.tenant)), page
    period = _period_form()
    return period, period


def _save_general(employee_id: int, period: str, own: bool) -> dict | None:
    """Save the three criteria; None when saved, else the form as typed with an error per
    field (every field checked, not only the first wrong one), in the page's language."""
    typed = {field: (request.form.get(field) or "").strip()[:20] for field in GENERAL_FIELDS}
    typed["comment"] = (request.form.get("comment") or "").strip()[:2000]
    typed["leadership"] = (request.form.get("leadership") or "").strip()[:20]
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"leadership": None}
    raw = typed["leadership"].replace(",", ".")
    if raw and not own:
        # Optional: only heads and deputies are scored on leadership (Decree 335, Art. 15).
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if value != value or not 0 <= value <= 100:
            errors["leadership"] = _("Enter a number from 0 to 100, or leave it empty.")
        else:
            data["leadership"] = round(value, 2)
    for field in GENERAL_FIELDS:
        raw = typed[field].replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            errors[field] = _("Enter a number from 0 to 10.") if raw else _("Required: a number from 0 to 10.")
            continue
        if value != value or not 0 <= value <= 10:  # NaN passes float() and every comparison test
            errors[field] = _("Between 0 and 10.")
            continue
        data[field] = round(value, 2)
    if not errors:
        data["comment"] = typed["comment"] or None
        try:
            scoring.set_general(current_user, employee_id, period, data, own_proposal=own)
            unit_of_work.commit()
            flash(_("Proposal saved.") if own else _("General criteria saved."), "ok")
            return None
        except ServiceError as exc:
            unit_of_work.rollback()
            errors["_form"] = _(exc.message) if exc.code != "period_closed" else _("This month is closed.")
    return {"values": typed, "errors": errors}


@dashboard_pages.app_template_filter("quarter_label")
def quarter_label(quarter: str) -> str:
    """2026-Q4 → "Quý IV/2026" (Vietnamese write quarters in Roman numerals)."""
    return _("Quarter %(roman)s/%(year)s", roman=("I", "II", "III", "IV")[int(quarter[6]) - 1], year=quarter[:4])


@dashboard_pages.get("/t/<t>/me/trend")
@login_required
def my_trend(t):
    _member()
    period = _period()
    if current_user.employee_id is None:
        return render_template("dashboards/no_employee.html", tenant=g.tenant), 200
    by = request.args.get("by") or services.default_trend(current_user.employee_id)
    if by not in TREND_KINDS:
        by = "day"
    rolled = by in ("month", "quarter")  # stored month rows (totals out of 100), not item sums
    missing = services.scheme_missing(period) if not rolled else None
    points: list[dict] = []
    if not missing:
        try:
            points = services.trend(current_user.employee_id, by, period)
        except ComponentMissing as exc:  # the variant returned a task score out of bounds
            missing = exc.message
    labels = [month_label(p["label"]) if by == "month" else day_label(p["label"])[:5] if by == "day"
              else quarter_label(p["label"]) if by == "quarter" else p["label"] for p in points]
    series = [{"label": _("Task score") if not rolled else _("Total"),
               "data": [p["task_score"] if not rolled else p["total"] for p in points]}]
    return render_template("dashboards/trend.html", tenant=g.tenant, period=period, by=by, points=points,
                           missing=missing, chart_json=chart("line", labels, series, max=100 if rolled else 70),
                           prev_period=services.shift_month(period, -1), next_period=services.shift_month(period, 1))


# ---------------------------------------------------------------- the unit


def _unit_scope() -> tuple[str, int | None, date, list]:
    """The month or quarter, the unit (one the caller may look at: 404 otherwise) and the day."""
    units = services.managed_units(current_user)
    unit_id = _int_arg("unit_id")
    allowed = {u.id for u in units}
    if unit_id is not None and unit_id not in allowed:
        abort(404)
    if unit_id is None and units:
        own = services.own_unit_id(current_user)
        unit_id = own if own in allowed else units[0].id
    period = _period_or_quarter(unit_id)
    today = cal.local_today(g.tenant)
    start, end = services.period_bounds(period)
    day = min(today, end) if start <= today else end
    return period, unit_id, day, units


def _unit_freshness(period: str, unit_id: int | None) -> dict:
    """Whether anyone of the unit (and the units under it) has changes not scored yet."""
    if unit_id is None:
        return {"pending": False, "refreshed_at": None}
    return _fresh(period, services.subtree_employee_ids(unit_id))


@dashboard_pages.get("/t/<t>/dashboard/unit")
@login_required
def unit(t):
    _require("manager", "tenant_admin", "auditor")
    period, unit_id, day, units = _unit_scope()
    data = services.unit_dashboard(current_user, period, unit_id, day)
    hist = data["histogram"]
    return render_template(
        "dashboards/unit.html", tenant=g.tenant, period=period, units=units, unit_id=unit_id, day=day, data=data,
        state=_state(period), fresh=_unit_freshness(period, unit_id),
        hist_chart=chart("bar", [f"{b['from']}–{b['to']}" for b in hist],
                         [{"label": _("People"), "data": [b["count"] for b in hist]}], integer=True),
        prev_period=services.shift_period(period, -1), next_period=services.shift_period(period, 1),
        quarter=services.is_quarter(period), toggle_period=_toggle(period),
        # A person's page is a month's: from a quarter, its month to date.
        person_url=url_for("dashboard_pages.person", t=t, employee_id=0,
                           period=_toggle(period) if services.is_quarter(period) else period).replace("/0?", "/{}?"),
        may_judge=current_user.has_role("manager"))


@dashboard_pages.get("/t/<t>/dashboard/unit/work")
@login_required
def unit_work(t):
    """The hours per working day and the queues: a scan of the unit's items, so htmx
    loads it once the rest of the dashboard is on screen."""
    _require("manager", "tenant_admin", "auditor")
    period, unit_id, day, _units = _unit_scope()
    ids = services.unit_ids(current_user, unit_id) if unit_id else []
    start, end = services.period_bounds(period)
    hours, queues, overdue = services.unit_work(current_user, ids, start, min(end, max(start, day)), day)
    names = services.employee_names(list(overdue))
    late = sorted(((names.get(i, ""), n) for i, n in overdue.items()), key=lambda x: (-x[1], x[0]))
    return render_template(
        "dashboards/_unit_work.html", tenant=g.tenant, hours=hours, queues=queues, late=late[:20],
        hours_chart=chart("bar", [h["day"][8:10] + "/" + h["day"][5:7] for h in hours],
                          [{"label": _("Hours per person"), "data": [h["hours"] for h in hours]}], max=10))


@dashboard_pages.get("/t/<t>/dashboard/person/<int:employee_id>")
@login_required
def person(t, employee_id):
    _require("manager", "tenant_admin", "auditor")
    period = _period()
    if not org.can_see_employee(current_user, employee_id):
        abort(404)
    may_set = org.manages(current_user, employee_id) or current_user.has_role("tenant_admin")
    return _month_page(employee_id, period, {"mine": employee_id == current_user.employee_id,
                                              "may_set": may_set and employee_id != current_user.employee_id})


@dashboard_pages.post("/t/<t>/dashboard/person/<int:employee_id>/general")
@login_required
def set_general(t, employee_id):
    _require("manager", "tenant_admin")
    period, page = _criteria_period()
    if not org.can_see_employee(current_user, employee_id):
        abort(404)
    if employee_id == current_user.employee_id:
        abort(403)  # nobody scores themselves (scoring.set_general refuses it too)
    form = _save_general(employee_id, period, own=False)
    if form is not None:
        may_set = org.manages(current_user, employee_id) or current_user.has_role("tenant_admin")
        return _month_page(employee_id, page, {"mine": employee_id == current_user.employee_id,
                                                "may_set": may_set and employee_id != current_user.employee_id,
                                                "general_form": form}), 422
    return redirect(url_for("dashboard_pages.person", t=t, employee_id=employee_id, period=page) + "#general")


# ---------------------------------------------------------------- the province


def _province_viewer() -> None:
    _member()
    if not services.may_see_province(current_user):
        abort(403)


def _kind() -> str | None:
    kind = request.args.get("kind") or None
    return kind if kind in services.KIND_FILTERS else None


@dashboard_pages.get("/t/<t>/dashboard/province")
@login_required
def province(t):
    _province_viewer()
    period, kind = _period_or_quarter(), _kind()
    quarter = services.is_quarter(period)
    data = services.province_dashboard(period, kind)
    trend = services.province_trend_quarters(period, kind) if quarter else services.province_trend(period, kind)
    top = data["units"][:40]  # the chart stays readable; the table lists them all
    return render_template(
        "dashboards/province.html", tenant=g.tenant, period=period, kind=kind, data=data,
        state=_state(period), fresh=_fresh(period), year=int(period[:4]), quarter=quarter,
        toggle_period=_toggle(period),
        classification_url=url_for("classification_pages.province", t=t, year=int(period[:4]))
        if "classification_pages.province" in current_app.view_functions else None,
        rank_chart=chart("bar", [u["name"] for u in top],
                         [{"label": _("Median total"), "data": [u["median"] for u in top]}], max=100,
                         horizontal=True),
        hist_chart=chart("bar", [f"{b['from']}–{b['to']}" for b in data["histogram"]],
                         [{"label": _("People"), "data": [b["count"] for b in data["histogram"]]}], integer=True),
        trend=trend, trend_chart=chart("line", [month_label(p["period"]) for p in trend],
                                       [{"label": _("Mean total"), "data": [p["mean"] for p in trend]}], max=100),
        prev_period=services.shift_period(period, -1), next_period=services.shift_period(period, 1))


@dashboard_pages.get("/t/<t>/dashboard/province/heatmap")
@login_required
def heatmap(t):
    _province_viewer()
    period, kind = _period_or_quarter(), _kind()
    if services.is_quarter(period):  # the weeks of the quarter's month to date (its last one once over)
        period = _toggle(period)
    return render_template("dashboards/_heatmap.html", data=services.workload_heatmap(period, kind))


# ---------------------------------------------------------------- jobs


@dashboard_pages.get("/t/<t>/jobs")
@login_required
def jobs(t):
    _require("tenant_admin", "auditor", "manager")
    # A manager sees the runs they started.
    mine = None if current_user.has_role("tenant_admin", "auditor") else current_user.actor
    shown = [run_view(r) for r in latest_runs(JOBS_SHOWN, requested_by=mine)]
    started = _job_of(request.args.get("job"))
    if started is not None and not current_user.has_role("tenant_admin", "auditor") \
            and started.requested_by != current_user.actor:
        started = None
    return render_template("dashboards/jobs.html", tenant=g.tenant, runs=shown,
                           period=kernel.month_of(cal.local_today(g.tenant)),
                           may_start=current_user.has_role("tenant_admin"), started=inline_job(started))


@dashboard_pages.get("/t/<t>/jobs/<job_id>/bar")
@login_required
def job_bar(t, job_id):
    """One run's progress, swapped in by htmx while it is active: every two seconds in
    the jobs page's list, every second as the inline bar (?inline=1) of the page that
    started it, which links to the result once the run has finished."""
    _require("tenant_admin", "auditor", "manager")
    run = _job_of(job_id)
    if run is None or (not current_user.has_role("tenant_admin", "auditor")
                       and run.requested_by != current_user.actor):
        abort(404)
    if request.args.get("inline"):
        return render_template("dashboards/_job_inline.html", job=inline_job(run))
    return render_template("dashboards/_job.html", tenant=g.tenant, run=run_view(run), active=ACTIVE)


def _job_of(job_id: str | None) -> JobRun | None:
    """A run of the current tenant by an id from the request, or None; an id longer than
    a UUID's is no run's and is not looked up."""
    if not job_id or len(job_id) > 36:
        return None
    return get_run(job_id)


def inline_job(run: JobRun | dict | str | None, target: str | None = None) -> dict | None:
    """What `_job_inline.html` shows for a run a page has just started: the run, the URL
    its bar polls and, once finished, a one-line summary and a link to the result.
    `run` may be an id (a run of the current tenant, None if there is none), a JobRun or
    a run view; `target` is the tenant slug of an operator's merger run."""
    if isinstance(run, str):
        run = _job_of(run)
    if isinstance(run, JobRun):
        run = run_view(run)
    if not run:
        return None
    if target is not None:
        bar = url_for("dashboard_pages.merge_bar", target=target, job_id=run["id"])
        result_url = url_for("merger_pages.progress", target=target, job_id=run["id"])
        return {"run": run, "active": ACTIVE, "bar_url": bar, "summary": None, "result_url": result_url,
                "result_label": _("See the merger's report")}
    t = g.tenant.slug
    out = {"run": run, "active": ACTIVE, "bar_url": url_for("dashboard_pages.job_bar", t=t, job_id=run["id"], inline=1),
           "summary": None, "result_url": None, "result_label": None}
    result = run.get("result") or {}
    kind = run["kind"]
    if kind == "recalculation":
        out["summary"] = _("%(items)s items scored, %(people)s people.", items=result.get("items", 0),
                           people=result.get("employees", 0))
        period = result.get("period") or run["scope"]
        out["result_label"] = _("See the month's scores")
        out["result_url"] = (url_for("dashboard_pages.province", t=t, period=period)
                             if services.may_see_province(current_user)
                             else url_for("dashboard_pages.unit", t=t, period=period))
    elif kind == "import":
        if result:
            out["summary"] = (_("Dry run: %(valid)s of %(total)s rows valid, nothing written.",
                                valid=result.get("rows_valid", 0), total=result.get("rows_total", 0))
                              if result.get("dry_run") else
                              _("%(written)s of %(total)s rows written.", written=result.get("rows_written", 0),
                                total=result.get("rows_total", 0)))
        out["result_label"], out["result_url"] = _("See the import's result"), _endpoint(
            "import_pages.imports_page", t=t, job=run["id"])
    elif kind == "classification":
        out["summary"] = _("%(people)s people classified.", people=result.get("people", 0))
        out["result_label"], out["result_url"] = _("See the classification"), _endpoint(
            "classification_pages.province", t=t, year=result.get("year") or run["scope"])
    elif kind == "audit_verify":
        out["summary"] = (_("The log is intact: %(n)s events checked.", n=result.get("count", 0)) if result.get("ok")
                          else _("The log is not intact.") if result else None)
        out["result_label"], out["result_url"] = _("See the check's verdict"), _endpoint(
            "audit_pages.audit_verify_result", t=t, job_id=run["id"])
    elif kind == "bonus":
        out["summary"] = _("%(people)s people share the fund.", people=result.get("people", 0))
        run_id = result.get("id") or run["scope"].partition(":")[2]  # the scope is "year:run id"
        out["result_label"], out["result_url"] = _("See the bonus run"), _endpoint(
            "classification_pages.bonus_run", t=t, run_id=run_id) if run_id else None
    return out


def _endpoint(name: str, **values: Any) -> str | None:
    """A link to another package's page, when that package is installed in this build."""
    return url_for(name, **values) if name in current_app.view_functions else None


@dashboard_pages.get("/operator/merges/<target>/<job_id>/bar")
@login_required
def merge_bar(target: str, job_id: str):
    """A tenant merger's inline bar on the operator's merger wizard (the runs belong to
    the target tenant; an operator sees only merger runs, never other jobs)."""
    if not current_user.is_operator:
        abort(403)
    from core.tenancy import tenant_context
    from core.tenants.services import find_tenant

    tenant = find_tenant(target[:100])
    if tenant is None:
        abort(404)
    with tenant_context(tenant.id):
        run = _job_of(job_id)
        if run is None or run.kind != "tenant_merge":
            abort(404)
        view = run_view(run)
    return render_template("dashboards/_job_inline.html", job=inline_job(view, target=tenant.slug))


@dashboard_pages.post("/t/<t>/jobs/recalculate")
@login_required
def recalculate(t):
    _require("tenant_admin")
    period = _period_form()
    try:
        run = submit("recalculation", period, {"period": period}, current_user.actor)
        flash(_("Recalculation of %(period)s started.", period=period), "ok")
        return redirect(url_for("dashboard_pages.jobs", t=t, job=run.id) + f"#job-inline-{run.id}")
    except ServiceError as exc:
        unit_of_work.rollback()
        _flash_error(exc)
    return redirect(url_for("dashboard_pages.jobs", t=t))


# ---------------------------------------------------------------- the operator


@dashboard_pages.get("/operator/dashboard")
@login_required
def operator():
    if not current_user.is_operator:
        abort(403)
    from core.dashboards.platform_health import platform_health
    from core.plugins.manager import current_manager

    health = platform_health()
    seen = overview.across_tenants()
    plugins_error = None
    try:
        plugins = current_manager().list_plugins(locale=str(_locale()))
    except Exception as exc:  # noqa: BLE001 - the overview shows what failed instead of failing itself
        plugins, plugins_error = [], str(exc)
    return render_template("dashboards/operator.html", tenants=seen["tenants"], people=seen["people"],
                           job_counts=seen["job_counts"], recent=[(run_view(r), slug) for r, slug in seen["recent"]],
                           components=seen["components"], chosen_kinds=overview.CHOSEN_KINDS,
                           plugins=plugins, plugins_error=plugins_error, health=health)


def _locale() -> str:

    return str(get_locale() or "vi")


# ---------------------------------------------------------------- template filters

SHOWN_FACTORS = ("task_type_code", "group", "quantity", "product_weight", "norm_minutes", "complexity_coefficient",
                 "deadline", "completed_at", "failed_reviews", "missed_deadlines", "stars", "satisfaction",
                 "exempt", "planned", "role", "priority")
_FACTOR_VALUES = {"lead": _l("lead"), "support": _l("support")}
_JOB_KINDS = {"recalculation": _l("Recalculation"), "classification": _l("Classification"),
              "bonus": _l("Bonus run"), "import": _l("Import"), "merge": _l("Merge"),
              "tenant_merge": _l("Merge"), "audit_verify": _l("Audit log check")}
_JOB_STATUS = {"queued": _l("queued"), "running": _l("running"), "finished": _l("finished"), "failed": _l("failed")}


@dashboard_pages.app_context_processor
def _dashboard_context() -> dict:
    # Other packages' pages are linked only when they are installed in this build.
    return {"shown_factors": SHOWN_FACTORS, "has_endpoint": lambda name: name in current_app.view_functions,
            "may_see_province": lambda: services.may_see_province(current_user), "inline_job": inline_job}


# num, vn_datetime and the other display filters are core/i18n.py's, one set for every page.


@dashboard_pages.app_template_filter("factor_label")
def factor_label(key: str, labels: dict[str, str] | None = None) -> str:
    """A number's label: the month's rule names what it computed (`labels`, from its
    stamp); the core names the item fields and the general criteria; anything else is
    shown by its key."""
    if labels and key in labels:
        return labels[key]
    pair = ITEM_FIELD_LABELS.get(key) or GENERAL_LABELS.get(key)
    if pair is not None:
        return pair[1] if _locale().startswith("en") else pair[0]
    return key.replace("_", " ")


def rule_words(formula: dict, locale: str) -> dict:
    """The month's rule in the reader's language, from the words kept with its stamp:
    title, description with the tenant's settings filled in, settings as labelled lines,
    and the labels of the numbers it computed."""
    english = locale.startswith("en")
    pick = 1 if english else 0
    labels = formula.get("labels") or {}
    settings = formula.get("settings") or {}
    yes, no = _("yes"), _("no")
    description = formula.get("description_en") if english else formula.get("description")
    return {"title": (formula.get("title_en") if english else None) or formula.get("title"),
            "description": description or "",
            "settings": stored_settings_lines(labels.get("settings") or {}, settings, locale, yes, no),
            "labels": {k: v[pick] for k, v in (labels.get("results") or {}).items()}}


@dashboard_pages.app_template_filter("factor_value")
def factor_value(value) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value in _FACTOR_VALUES:
        return str(_FACTOR_VALUES[value])
    if isinstance(value, int | float):
        return num(value)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return f"{value[8:10]}/{value[5:7]}/{value[:4]}" + (f" {value[11:16]}" if len(value) > 10 else "")
    return str(value)


@dashboard_pages.app_template_filter("job_kind")
def job_kind(value: str) -> str:
    return str(_JOB_KINDS.get(value, value))


@dashboard_pages.app_template_filter("job_status")
def job_status(value: str) -> str:
    return str(_JOB_STATUS.get(value, value))


