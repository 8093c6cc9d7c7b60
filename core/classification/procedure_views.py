"""The evaluation procedure's pages: what waits for me first (steps for people, decisions,
appeals), then my own evaluation, then the agencies (open a year). Forms post back; an error
shows beside its field with what was typed kept (422), success redirects."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core import unit_of_work
from core.catalogue.services import fold
from core.classification import evaluation_board, procedure
from core.classification.basis import basis
from core.classification.services import FIRST_YEAR, LAST_YEAR, year_state
from core.errors import Invalid, ServiceError
from core.i18n import day_input
from core.messages import localise, localise_errors
from core.org import directory
from core.plugins.components import LEVELS
from core.work import calendar as cal

evaluation_pages = Blueprint("evaluation_pages", __name__, template_folder="templates")
# A province has some 70–100 agencies and communes: a phone shows them a page at a time.
AGENCIES_PER_PAGE = 20
AGENCY_SHOWS = ("all", "not_opened", "open", "decided")


# The position groups' names as the catalogue shows them (msgids of core/admin/views.py).
POSITION_GROUPS = {"leadership": "Leadership", "professional": "Professional", "support": "Support"}


def _member() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)


def _year() -> int:
    try:
        year = int(request.values.get("year") or cal.local_today().year)
    except ValueError:
        abort(400)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(400)
    return year


def _int(name: str) -> int | None:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        return None


def _names(ids) -> dict[int, str]:
    return directory.employee_names(i for i in ids if i is not None)


@evaluation_pages.app_template_filter("local_moment")
def local_moment(moment) -> str:
    """A moment as the tenant's people read it: 09/12/2026 14:05."""
    return moment.astimezone(cal.zone(cal.current_tenant().timezone)).strftime("%d/%m/%Y %H:%M") if moment else ""


def _agency_filter() -> tuple[str, str, int]:
    """The agencies list's search text, what to show and page (GET, or the hidden fields a
    form posts back so the admin stays where they were)."""
    q = (request.values.get("q") or "").strip()[:100]
    show = request.values.get("show") if request.values.get("show") in AGENCY_SHOWS else "all"
    try:
        page = max(int(request.values.get("page") or 1), 1)
    except ValueError:
        page = 1
    return q, show, page


def _filtered(openable: list[dict], q: str, show: str) -> list[dict]:
    wanted = fold(q)
    out = []
    for o in openable:
        if wanted and wanted not in fold(o["unit"].name) and wanted not in fold(o["unit"].code or ""):
            continue
        if show == "not_opened" and o["state"] is not None or show == "open" and (o["state"] is None or o["decided"]) \
                or show == "decided" and not o["decided"]:
            continue
        out.append(o)
    return out


def _render(year: int, form: str | None = None, exc: ServiceError | None = None):
    pending = procedure.pending(current_user, year)
    previews = {}
    for d in pending["decisions"]:
        try:
            previews[(d["agency_id"], d["scope"])] = procedure.preview(current_user, year, d["agency_id"], d["scope"])
        except ServiceError:
            pass
    mine = None
    if current_user.employee_id is not None:
        try:
            mine = procedure.person(current_user, year, current_user.employee_id)
        except ServiceError:
            mine = None
    if mine and mine["decision"]:
        d = mine["decision"]
        names = _names((d["decider_id"], d["signer_id"]))
        mine["decision"] = {**d, "decider_name": d["decider_name"] or names.get(d["decider_id"], ""),
                            "signer_name": names.get(d["signer_id"]) or d["decider_name"] or ""}
        # The appeal form only while an appeal can be filed: within the window, and none filed
        # against this decision yet — one appeal per decision to its decider; once settled the
        # page shows the resolution and where a second complaint goes instead.
        mine["appeal_until"] = cal.local_date(d["appeal_until"], g.tenant)
        against = [a for a in mine["appeals"] if a["filed_at"] >= d["decided_at"]]
        mine["appeal_settled"] = next((a for a in reversed(against) if a["status"] != "pending"), None)
        mine["may_appeal"] = cal.now() <= d["appeal_until"] and not against
    org = procedure.Org(year)
    settings = procedure.procedure_settings()
    # A manager's people who have not self-assessed yet: the first step is theirs, so it
    # waits for nobody else, and only the manager can chase them.
    not_assessed = procedure.not_self_assessed(current_user, year, org, settings["steps"])
    # The manager proposing a level sees the same basis as the person (one query for all).
    step_basis = basis(year, {s["employee_id"]: org.agency[s["employee_id"]] for s in pending["steps"]
                              if s["employee_id"] in org.agency}
                       | {p["employee_id"]: v["agency_id"] for v in previews.values() for p in v["people"]})
    if mine is not None and mine["computed_level"] is not None and mine["decision"] is None:
        mine["next"] = procedure.next_step(org, year, mine["employee_id"], (s["step"] for s in mine["steps"]))
    openable = []
    if current_user.has_role("tenant_admin") or current_user.employee_id in {
            h for a in set(org.agency.values()) for h in org.heads(a)}:
        units = evaluation_board.agency_units()
        states = evaluation_board.agency_states(year)
        decided: dict[int, list[dict]] = {}
        made = evaluation_board.decided(year)
        names = _names({i for d in made for i in (d.decider_id, d.signer_id)})
        for d in made:
            decided.setdefault(d.agency_id, []).append({
                **procedure.decision_view(d), "decider_name": d.decider_name or names.get(d.decider_id, ""),
                "signer_name": names.get(d.signer_id) or d.decider_name or "",
                "may_sign": current_user.has_role("tenant_admin") or current_user.employee_id == d.decider_id})
        for unit in units:
            if current_user.has_role("tenant_admin") or current_user.employee_id in org.heads(unit.id):
                openable.append({"unit": unit, "state": states.get(unit.id), "decided": decided.get(unit.id, [])})
    # The classification services write English (the API's language): shown through the catalogue.
    errors = localise_errors({**exc.errors, "_": [localise(exc.message)]}) if exc is not None else {}
    status = exc.status if exc is not None else 200
    q, show, page = _agency_filter()
    found = _filtered(openable, q, show)
    pages = max((len(found) - 1) // AGENCIES_PER_PAGE + 1, 1)
    page = min(page, pages)
    state = year_state(year)
    return render_template("classification/evaluation.html", tenant=g.tenant, year=year, pending=pending,
                           previews=previews, mine=mine, step_basis=step_basis, position_groups=POSITION_GROUPS,
                           levels=LEVELS, form=form,
                           openable=found[(page - 1) * AGENCIES_PER_PAGE:page * AGENCIES_PER_PAGE],
                           agencies_total=len(openable), agencies_found=len(found), q=q, show=show, agency_page=page,
                           pages=pages, year_final=state is not None and state.status == "final",
                           errors=errors, values=request.form, labels=procedure.STEP_LABELS,
                           not_assessed=not_assessed,
                           settings=settings, deadline=procedure.deadline(year),
                           days_left=procedure.days_left(year)), status


@evaluation_pages.get("/t/<t>/evaluation")
@login_required
def page(t):
    _member()
    return _render(_year())


def _done(year: int, message: str):
    unit_of_work.commit()
    flash(message, "ok")
    q, show, page = _agency_filter()
    return redirect(url_for("evaluation_pages.page", t=g.tenant.slug, year=year, q=q or None,
                            show=None if show == "all" else show, page=page if page > 1 else None))


@evaluation_pages.post("/t/<t>/evaluation/step")
@login_required
def step(t):
    _member()
    year, employee_id, kind = _year(), _int("employee_id"), request.form.get("step", "")
    form = f"step-{employee_id}-{kind}"
    data = {k: request.form.get(k) for k in ("level", "comment")}
    if kind == "meeting":
        data["meeting_date"] = day_input(request.form.get("meeting_date"))  # dd/mm/yyyy as typed
        for k in ("attendees", "votes_for", "votes_against"):
            data[k] = _int(k)
    try:
        if employee_id is None:
            abort(400)
        procedure.record_step(current_user, year, employee_id, kind, data)
        return _done(year, _("Saved."))
    except ServiceError as exc:
        unit_of_work.rollback()
        return _render(year, form, exc)


@evaluation_pages.post("/t/<t>/evaluation/decide")
@login_required
def decide(t):
    _member()
    year, agency_id, scope = _year(), _int("agency_id"), request.form.get("scope", "")
    if agency_id is None:
        abort(400)
    # Each "level-<id>" chosen is a change of the proposed level, with its "reason-<id>".
    changes = [{"employee_id": int(key[len("level-"):]), "level": value,
                "reason": request.form.get(f"reason-{key[len('level-'):]}", "")}
               for key, value in request.form.items() if key.startswith("level-") and key[6:].isdigit() and value]
    try:
        procedure.decide(current_user, year, agency_id, scope, request.form.get("confirmation", ""), changes)
        return _done(year, _("Decided. Each person is notified and may appeal."))
    except ServiceError as exc:
        unit_of_work.rollback()
        # The service names a change by its place in the list; the form by the person.
        exc.errors = {_change_field(k, changes): v for k, v in exc.errors.items()}
        return _render(year, f"decide-{agency_id}-{scope}", exc)


def _change_field(key: str, changes: list[dict]) -> str:
    parts = key.split(".")
    if parts[0] == "changes" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(changes):
        return f"{parts[2]}-{changes[int(parts[1])]['employee_id']}"
    return key


@evaluation_pages.post("/t/<t>/evaluation/open")
@login_required
def open_year(t):
    _member()
    year, agency_id = _year(), _int("agency_id")
    if agency_id is None:
        abort(400)
    try:
        procedure.open_agency(current_user, year, agency_id, request.form.get("late_reason"))
        return _done(year, _("The evaluation is open."))
    except ServiceError as exc:
        unit_of_work.rollback()
        return _render(year, f"open-{agency_id}", exc)


@evaluation_pages.post("/t/<t>/evaluation/settings")
@login_required
def settings(t):
    """The tenant admin's deadline, appeal days and evaluation period (the API's PUT
    …/evaluation-procedure, the same validation)."""
    _member()
    if not current_user.has_role("tenant_admin"):
        abort(403)
    year = _year()
    data: dict = {"period": request.form.get("period", "")}
    day = request.form.get("deadline_day", "").strip()
    data["deadline"] = f"12-{int(day):02d}" if day.isdigit() else f"12-{day}"
    days = _int("appeal_days")
    data["appeal_days"] = days if days is not None else 0
    # Empty name, title and e-mail: no configured signatory (update_procedure clears it).
    data["leaders_signatory"] = {"full_name": request.form.get("signatory_name", ""),
                                 "title": request.form.get("signatory_title", ""),
                                 "email": request.form.get("signatory_email", "")}
    try:
        procedure.update_procedure(current_user, data)
        return _done(year, _("Saved."))
    except ServiceError as exc:
        unit_of_work.rollback()
        return _render(year, "settings", exc)


@evaluation_pages.post("/t/<t>/evaluation/late")
@login_required
def late(t):
    _member()
    year, agency_id = _year(), _int("agency_id")
    if agency_id is None:
        abort(400)
    try:
        procedure.allow_late(current_user, year, agency_id, request.form.get("reason", ""))
        return _done(year, _("The agency may go on after the deadline."))
    except ServiceError as exc:
        unit_of_work.rollback()
        return _render(year, f"late-{agency_id}", exc)


@evaluation_pages.post("/t/<t>/evaluation/appeal")
@login_required
def appeal(t):
    _member()
    year = _year()
    if current_user.employee_id is None:
        abort(403)
    try:
        procedure.file_appeal(current_user, year, current_user.employee_id, request.form.get("reason", ""))
        return _done(year, _("Your appeal is filed."))
    except ServiceError as exc:
        unit_of_work.rollback()
        return _render(year, "appeal", exc)


@evaluation_pages.post("/t/<t>/evaluation/appeals/<int:appeal_id>/resolve")
@login_required
def resolve(t, appeal_id):
    _member()
    year = _year()
    try:
        procedure.resolve_appeal(current_user, appeal_id, request.form.get("decision", ""),
                                 request.form.get("reason", ""), request.form.get("level") or None)
        return _done(year, _("Saved."))
    except ServiceError as exc:
        unit_of_work.rollback()
        return _render(year, f"resolve-{appeal_id}", exc)


@evaluation_pages.post("/t/<t>/evaluation/signed")
@login_required
def signed(t):
    """The decider (or the tenant admin) uploads the decision signed with their token: it is
    verified as on the documents page and marks the decision step signed."""
    from core.documents import services as documents

    _member()
    year, agency_id = _year(), _int("agency_id")
    if agency_id is None:
        abort(400)
    try:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise Invalid("No file.", {"file": ["Choose the signed PDF."]})
        documents.upload_signed(current_user, agency_id, year, upload.read())
        return _done(year, _("The signed decision was verified and recorded."))
    except ServiceError as exc:
        unit_of_work.rollback()
        # The documents' messages are catalogue msgids: shown in the reader's language.
        exc.message = _(exc.message)
        exc.errors = {k: [_(str(e)) for e in (v if isinstance(v, list) else [v])] for k, v in exc.errors.items()}
        return _render(year, f"sign-{agency_id}", exc)
