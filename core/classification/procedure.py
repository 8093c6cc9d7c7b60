"""The annual evaluation as the law runs it (docs/procedure.md): per legal regime, per agency,
step by step, each step by the person competent for it.

self-assessment (the person) → the direct manager's comments and proposed level → the unit's
collective meeting (minutes) → the decision: by the agency's head for its staff, by the level
above (the tenant admin, i.e. the Sở Nội vụ) for the agency's head and deputies. The agency's
evaluation opens in December with the months that count; a decision needs the typed
confirmation "<agency code> <year>", is notified to each person, and is open to appeal for
the configured days after it; reopening needs a reason and the deciding competence.

The tenant's procedure is stored like the month-close setting: a component choice of its
own kind (``PROCEDURE_KIND``) whose settings hold the procedure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, literal, or_, select

from core.audit.services import record
from core.auth.principal import Principal
from core.classification import reasons as reasons_text
from core.classification.models import (
    DECISION_SCOPES,
    DEFAULT_REGIME,
    REGIMES,
    STEPS,
    AgencyEvaluation,
    ClassificationAppeal,
    ClassificationYear,
    EmployeeClassification,
    EmployeeRegime,
    EvaluationDecision,
    EvaluationStep,
)
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.extensions import db
from core.notifications.services import notify
from core.org.models import Employee, JobPosition, OrgUnit
from core.plugins.components import LEVELS
from core.tenants.models import BEGINNING, ComponentChoice
from core.webhooks import outbox as webhooks
from core.work import calendar as cal

PROCEDURE_KIND = "evaluation_procedure"
DEFAULTS: dict[str, Any] = {
    "steps": list(STEPS),
    "deadline": "12-15",  # the day of December by which agencies should have decided
    "appeal_days": 15,
    "count_month_in_progress": False,
    # Công chức: the tenant's classification_scheme (Decree 335 from 2026). Viên chức: Decree
    # 90/2020 + 48/2023 until their own framework. Cán bộ and contract staff: the tenant's
    # choice, else the công chức scheme.
    "schemes": {"vien_chuc": {"key": "decree90", "settings": {}}},
    # Evaluation periods (docs/procedure.md "Monthly or quarterly periods"): the tenant's, and
    # an agency's own choice keyed by its id.
    "period": "month",
    "agency_periods": {},
    # Who signs the leaders' decision for the level above (the provincial people's committee's
    # chairman or the person authorised): {"full_name", "title", "email"?}. None: the deciding
    # login's own staff record, and a login without one cannot decide the leaders.
    "leaders_signatory": None,
}
PERIOD_KINDS = ("month", "quarter")
MAX_APPEAL_DAYS = 90


def N_(message: str) -> str:  # noqa: N802 - marks a msgid for pybabel; notify() translates it
    return message


# ---------------------------------------------------------------- the tenant's procedure


def procedure_settings() -> dict[str, Any]:
    choice = db.session.scalar(select(ComponentChoice).where(ComponentChoice.kind == PROCEDURE_KIND)
                               .order_by(ComponentChoice.effective_from.desc()).limit(1))
    stored = dict(choice.settings) if choice else {}
    merged = {**DEFAULTS, **stored}
    merged["schemes"] = {**DEFAULTS["schemes"], **(stored.get("schemes") or {})}
    return merged


def update_procedure(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Validate and store the tenant's procedure (the schema checked types)."""
    from core.plugins.manager import current_manager

    before = procedure_settings()
    new = {**before, **{k: v for k, v in data.items() if v is not None}}
    errors: dict[str, list[str]] = {}
    steps = new["steps"]
    if not steps or steps[-1] != "decision" or any(s not in STEPS for s in steps) or \
            [s for s in STEPS if s in steps] != list(steps):
        errors["steps"] = [_("Steps are taken from self, manager, meeting, decision, in that order, "
                             "and end with the decision.")]
    if not re.fullmatch(r"12-(0[1-9]|[12][0-9]|3[01])", str(new["deadline"])):
        errors["deadline"] = [_("The deadline is a day of December, written 12-DD.")]
    if new.get("period") not in PERIOD_KINDS:
        errors["period"] = [_("One of: %(list)s.", list=", ".join(PERIOD_KINDS))]
    agency_periods: dict[str, str] = {}
    from core.classification.services import AGENCY_KINDS

    # Only an agency (or commune, ward) chooses: a department follows its agency.
    agencies = set(db.session.scalars(select(OrgUnit.id).where(OrgUnit.kind.in_(AGENCY_KINDS))))
    for key, kind in (new.get("agency_periods") or {}).items():
        if not str(key).isdigit() or int(key) not in agencies:
            errors.setdefault("agency_periods", []).append(_("%(key)s: no such agency.", key=key))
        elif kind not in PERIOD_KINDS:
            errors.setdefault("agency_periods", []).append(
                _("%(key)s: one of: %(list)s.", key=key, list=", ".join(PERIOD_KINDS)))
        else:
            agency_periods[str(int(key))] = kind
    new["agency_periods"] = agency_periods
    if new.get("leaders_signatory") is not None:
        new["leaders_signatory"] = _check_signatory(new["leaders_signatory"], errors)
    if not 1 <= int(new["appeal_days"]) <= MAX_APPEAL_DAYS:
        errors["appeal_days"] = [_("From 1 to %(max)s days.", max=MAX_APPEAL_DAYS)]
    schemes = {}
    for regime, ref in (new.get("schemes") or {}).items():
        if regime not in REGIMES or regime == DEFAULT_REGIME:
            errors.setdefault("schemes", []).append(
                _("%(regime)s: a scheme is chosen for vien_chuc, can_bo or nguoi_lao_dong; công chức use the "
                  "tenant's classification scheme.", regime=regime))
            continue
        if ref is None:
            schemes[regime] = None  # the công chức scheme (overrides a default such as viên chức → decree90)
            continue
        try:  # the stored (JSON) form, defaults filled in
            stored = current_manager().validate_component("classification_scheme", ref["key"], ref.get("settings"))
        except Invalid as exc:
            errors.setdefault("schemes", []).append(f"{regime}: {exc.message}")
            continue
        schemes[regime] = {"key": ref["key"], "settings": stored}
    if errors:
        raise Invalid(_("The evaluation procedure is not valid."), errors)
    new["schemes"] = schemes if "schemes" in data else new["schemes"]
    new["appeal_days"] = int(new["appeal_days"])
    choice = db.session.scalar(select(ComponentChoice).where(ComponentChoice.kind == PROCEDURE_KIND,
                                                             ComponentChoice.effective_from == BEGINNING))
    if choice is None:
        choice = ComponentChoice(kind=PROCEDURE_KIND, key="-", effective_from=BEGINNING)
        db.session.add(choice)
    choice.settings = new
    db.session.flush()
    record("evaluation.procedure", "tenant", principal.tenant_id, before=before, after=new)
    return new


def _check_signatory(value: Any, errors: dict[str, list[str]]) -> dict[str, str | None] | None:
    """A signatory is a real, named person: a full name and a title (their e-mail, when the
    certificate carries one, must then agree). Empty name and title: none configured."""
    if not isinstance(value, dict):
        errors["leaders_signatory"] = [_("Give the signatory's full name and title.")]
        return None
    name, title = " ".join(str(value.get("full_name") or "").split()), " ".join(str(value.get("title") or "").split())
    email = str(value.get("email") or "").strip().lower() or None
    if not name and not title and not email:
        return None
    if not name or len(name) > 200:
        errors.setdefault("leaders_signatory.full_name", []).append(_("The signatory's full name is required."))
    if not title or len(title) > 200:
        errors.setdefault("leaders_signatory.title", []).append(
            _("The signatory's title is required (e.g. Chủ tịch Ủy ban nhân dân tỉnh)."))
    if email is not None and (len(email) > 200 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        errors.setdefault("leaders_signatory.email", []).append(_("Not an e-mail address."))
    return {"full_name": name, "title": title, "email": email}


def signatory_for(principal: Principal, scope: str) -> dict[str, Any]:
    """Who signs a decision taken by ``principal`` for ``scope``: for the leaders, the level
    above's configured signatory when there is one (the decision is the committee's, whoever
    keys it in); otherwise the decider's staff record. 409 when neither names a person."""
    configured = procedure_settings().get("leaders_signatory") if scope == "leaders" else None
    if configured:
        return {"employee_id": None, "full_name": configured["full_name"], "title": configured["title"],
                "email": configured.get("email")}
    person = db.session.get(Employee, principal.employee_id) if principal.employee_id is not None else None
    if person is None:
        raise Conflict(_("The decision must name the person who signs it: set the signatory of the leaders' "
                         "decision in the tenant's procedure (full name and title), or decide with a login "
                         "linked to a staff record."), code="no_signatory")
    default_title = "Chủ tịch Ủy ban nhân dân" if scope == "leaders" else "Thủ trưởng cơ quan"
    return {"employee_id": person.id, "full_name": person.full_name,
            "title": person.position.name if person.position else default_title, "email": person.email}


def period_kinds() -> tuple[str, dict[int, str]]:
    """The tenant's evaluation period and each agency's own choice (month or quarter)."""
    settings = procedure_settings()
    return settings.get("period") or "month", {int(k): v for k, v in (settings.get("agency_periods") or {}).items()}


def quarterly_people(people: dict[int, int | None], units: dict | None = None) -> set[int]:
    """Of ``people`` ({employee id: unit id}), those whose agency evaluates by quarters."""
    from core.classification.services import agency_of

    default, own = period_kinds()
    if default == "month" and "quarter" not in own.values():
        return set()  # the default: nothing to look up
    if units is None:
        units = {u.id: (u.parent_id, u.kind) for u in db.session.execute(
            select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind))}
    return {i for i, unit_id in people.items()
            if own.get(agency_of(unit_id, units) if unit_id is not None else -1, default) == "quarter"}


# ---------------------------------------------------------------- legal regimes


def regimes_on(ids: Iterable[int], on: date) -> dict[int, str]:
    """Each person's regime in force on ``on``: the latest recorded from on or before it,
    else their position's (cán bộ for an elected office), else công chức. Two queries."""
    ids = list(ids)
    out = dict.fromkeys(ids, DEFAULT_REGIME)
    if ids:
        out.update(db.session.execute(
            select(Employee.id, JobPosition.regime).join(JobPosition, JobPosition.id == Employee.position_id)
            .where(Employee.id.in_(ids), JobPosition.regime.is_not(None))).all())
        for employee_id, regime in db.session.execute(
                select(EmployeeRegime.employee_id, EmployeeRegime.regime)
                .where(EmployeeRegime.employee_id.in_(ids), EmployeeRegime.valid_from <= on)
                .order_by(EmployeeRegime.valid_from)):
            out[employee_id] = regime  # ascending: the latest wins
    return out


def regime_view(r: EmployeeRegime) -> dict:
    return {"employee_id": r.employee_id, "regime": r.regime, "valid_from": r.valid_from}


def regimes_of(employee_id: int) -> list[dict]:
    if db.session.get(Employee, employee_id) is None:
        raise NotFound(_("Employee not found."))
    return [regime_view(r) for r in db.session.scalars(
        select(EmployeeRegime).where(EmployeeRegime.employee_id == employee_id).order_by(EmployeeRegime.valid_from))]


def set_regime(principal: Principal, employee_id: int, regime: str, valid_from: date | None) -> EmployeeRegime:
    """Record a person's regime from a date (the start of employment, or 1 Jan 1970, by default)."""
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(_("Employee not found."))
    if regime not in REGIMES:
        raise Invalid(_("Unknown legal regime."), {"regime": [_("One of: %(list)s.", list=", ".join(REGIMES))]})
    valid_from = valid_from or employee.start_date or BEGINNING
    row = db.session.scalar(select(EmployeeRegime).where(EmployeeRegime.employee_id == employee_id,
                                                         EmployeeRegime.valid_from == valid_from))
    before = None if row is None else regime_view(row)
    if row is None:
        row = EmployeeRegime(employee_id=employee_id, valid_from=valid_from)
        db.session.add(row)
    row.regime = regime
    db.session.flush()
    record("employee.regime", "employee", employee_id, before=before, after=regime_view(row),
           actor=principal.actor)
    return row


def scheme_for_regime(regime: str, year: int):
    """The classification scheme for a regime's people in ``year`` (a ChosenComponent)."""
    from core.plugins.manager import current_manager, current_tenant_slug
    from core.tenants.choices import component_for

    ref = procedure_settings()["schemes"].get(regime) if regime != DEFAULT_REGIME else None
    if not ref:
        return component_for("classification_scheme", date(year, 12, 31))
    return current_manager().choose("classification_scheme", ref["key"], ref.get("settings") or {},
                                    current_tenant_slug(), None)


# ---------------------------------------------------------------- agencies and competence


class Org:
    """The units and the people of the year, loaded once per request: who belongs to which
    agency, who heads it, who is decided by the level above."""

    def __init__(self, year: int) -> None:
        from core.classification.services import agency_of, employed_in

        self.units = {u.id: (u.parent_id, u.kind) for u in db.session.execute(
            select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind))}
        self.people = {e.id: e for e in db.session.execute(
            select(Employee.id, Employee.unit_id, Employee.manager_id, Employee.is_leader, Employee.full_name,
                   Employee.code, JobPosition.group).outerjoin(JobPosition, JobPosition.id == Employee.position_id)
            .where(employed_in(year)).order_by(Employee.id))}
        self.agency = {i: agency_of(e.unit_id, self.units) for i, e in self.people.items()}
        self._leaders: dict[int, set[int]] = {}
        self._by_agency: dict[int, list[int]] = {}
        for i, a in self.agency.items():
            self._by_agency.setdefault(a, []).append(i)

    def leaders(self, agency_id: int) -> set[int]:
        """The agency's head and deputies: the people of the agency's own unit who are
        leaders or hold a leadership position (a deputy director need not be flagged)."""
        if agency_id not in self._leaders:
            self._leaders[agency_id] = {i for i in self._by_agency.get(agency_id, []) if (
                self.people[i].unit_id == agency_id and (self.people[i].is_leader or self.people[i].group == "leadership"))}
        return self._leaders[agency_id]

    def heads(self, agency_id: int) -> set[int]:
        """The head: a leader of the agency's own unit who reports to nobody inside it."""
        leaders = self.leaders(agency_id)
        return {i for i in leaders if self.people[i].manager_id not in leaders}

    def scope_of(self, employee_id: int) -> str:
        return "leaders" if employee_id in self.leaders(self.agency[employee_id]) else "staff"

    def members(self, agency_id: int, scope: str | None = None) -> list[int]:
        ids = self._by_agency.get(agency_id, [])
        return ids if scope is None else [i for i in ids if self.scope_of(i) == scope]


def may_do(principal: Principal, step: str, employee_id: int, org: Org) -> bool:
    """Competence (thẩm quyền): who may take ``step`` for ``employee_id``."""
    person = org.people.get(employee_id)
    if person is None or principal.is_operator:
        return False
    me = principal.employee_id
    if step == "self":
        return me == employee_id
    if me == employee_id:
        return False  # nobody comments on, minutes or decides their own evaluation
    if step in ("manager", "meeting"):
        if person.manager_id is not None:
            return me == person.manager_id
        return principal.has_role("tenant_admin")  # a head without a superior inside: the level above
    if step == "decision":
        return may_decide(principal, org.agency[employee_id], org.scope_of(employee_id), org)
    return False


def may_decide(principal: Principal, agency_id: int, scope: str, org: Org) -> bool:
    if principal.is_operator:
        return False
    if scope == "leaders":
        return principal.has_role("tenant_admin") and principal.employee_id not in org.leaders(agency_id)
    return principal.employee_id is not None and principal.employee_id in org.heads(agency_id)


def _forbid() -> Forbidden:
    return Forbidden(_("This step is outside your competence (thẩm quyền)."), code="outside_competence")


# ---------------------------------------------------------------- opening an agency's evaluation


def months_counted(year: int, today: date, in_progress: bool) -> tuple[list[str], date]:
    """The months whose work counts and the last day counted: every month once the year is
    over; in December, January to November, or to today when the tenant counts the month in
    progress."""
    if today > date(year, 12, 31):
        return [f"{year}-{m:02d}" for m in range(1, 13)], date(year, 12, 31)
    if in_progress:
        return [f"{year}-{m:02d}" for m in range(1, today.month + 1)], today
    return [f"{year}-{m:02d}" for m in range(1, today.month)], date(year, today.month, 1) - timedelta(days=1)


def _agency(agency_id: int, org: Org) -> OrgUnit:
    from core.classification.services import AGENCY_KINDS

    unit = db.session.get(OrgUnit, agency_id)
    if unit is None or (unit.kind not in AGENCY_KINDS and agency_id not in set(org.agency.values())):
        raise NotFound(_("Agency not found."))
    return unit


def agency_state(year: int, agency_id: int) -> AgencyEvaluation | None:
    return db.session.scalar(select(AgencyEvaluation).where(AgencyEvaluation.year == year,
                                                            AgencyEvaluation.agency_id == agency_id))


def open_agency(principal: Principal, year: int, agency_id: int, late_reason: str | None = None) -> AgencyEvaluation:
    """Open (or refresh, before any decision) an agency's evaluation of ``year``: classify its
    people on the months that count; from 1 December of the year on. After the deadline only
    with the competent person's reason (``late_reason``), recorded as the agency's override."""
    from core.classification.services import check_year, classify_by_regime, gather, refuse_if_final

    check_year(year)
    org = Org(year)
    unit = _agency(agency_id, org)
    if not (principal.has_role("tenant_admin") or principal.employee_id in org.heads(agency_id)):
        raise _forbid()
    refuse_if_final(year)
    today = cal.local_today()
    if today < date(year, 12, 1):
        raise Conflict(_("The annual evaluation of %(year)s may start from 1 December %(year)s.", year=year),
                       code="too_early")
    if _active_decisions(year, agency_id):
        raise Conflict(_("%(agency)s has decided %(year)s; reopen the decision first.", agency=unit.name, year=year),
                       code="decided")
    late_reason = (late_reason or "").strip()
    existing_state = agency_state(year, agency_id)
    if not late_reason:
        refuse_after_deadline(year, existing_state)
    settings = procedure_settings()
    months, counted_to = months_counted(year, today, bool(settings["count_month_in_progress"]))
    data = gather(year, months, agency_id)
    answers = classify_by_regime(data.people, year)
    existing = {r.employee_id: r for r in db.session.scalars(select(EmployeeClassification).where(
        EmployeeClassification.year == year, EmployeeClassification.employee_id.in_(list(data.employees))))}
    # A recalculation (the agency was open already) compares with the levels it replaces.
    before_levels = {i: r.computed_level for i, r in existing.items()} if existing_state is not None else None
    from decimal import Decimal

    for person, answer in zip(data.people, answers, strict=True):
        row = existing.get(person["employee_id"]) or EmployeeClassification(year=year, employee_id=person["employee_id"])
        row.unit_id, row.quota_group = person["unit_id"], person["quota_group"]
        row.total = None if person["total"] is None else Decimal(str(person["total"]))
        row.task_score = None if person["task_score"] is None else Decimal(str(person["task_score"]))
        row.months_worked, row.forced_kht, row.criteria = person["months_worked"], person["forced_kht"], person["criteria"]
        row.computed_level, row.demoted_by_quota = answer["level"], bool(answer["demoted_by_quota"])
        db.session.add(row)
    if db.session.scalar(select(ClassificationYear).where(ClassificationYear.year == year)) is None:
        stamp = scheme_for_regime(DEFAULT_REGIME, year).stamp()
        db.session.add(ClassificationYear(year=year, status="draft", run_at=cal.now(), appeal_until=cal.now(),
                                          scheme_key=stamp["key"], scheme_version=stamp["version"],
                                          settings_hash=stamp["settings_hash"]))
    state = agency_state(year, agency_id)
    if state is None:
        state = AgencyEvaluation(year=year, agency_id=agency_id)
        db.session.add(state)
    state.months, state.counted_to = months, counted_to
    state.opened_at, state.opened_by = cal.now(), principal.actor
    db.session.flush()
    levels = {p["employee_id"]: a["level"] for p, a in zip(data.people, answers, strict=True)}
    after = agency_view(state, unit)
    changed: list[dict[str, Any]] = []
    if before_levels is not None:
        changed = [{"employee_id": i, "full_name": org.people[i].full_name if i in org.people else None,
                    "before": before_levels.get(i), "after": level}
                   for i, level in levels.items() if before_levels.get(i) != level]
        # The inspector reads who moved from which level to which, not only how many.
        after = {**after, "recalculated": True, "changed_levels": changed}
    record("evaluation.open", "agency_evaluation", f"{year}:{agency_id}", after=after, actor=principal.actor)
    if late_reason and past_deadline(year) and state.late_reason is None:
        _allow_late(principal, state, late_reason)
    _notify_opened(year, levels, before_levels, changed, settings)
    return state


def _notify_opened(year: int, levels: dict[int, str | None], before_levels: dict[int, str | None] | None,
                   changed: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    """Tell each person what the opening (or a recalculation) asks of them, once.

    The reminder to self-assess goes only to those who owe it: the scheme classifies them
    (steps wait for no one else) and they have not assessed themselves. A recalculation
    does not repeat it to those the first opening already reminded — the home page and the
    evaluation page keep reminding them until the deadline, and a province recalculating
    after a late score would otherwise flood every inbox with the same request; it goes to
    those who owe the step only now (newly classified). Whoever's suggested level the
    recalculation changed is told old → new (the newly classified get the reminder), since
    they (or their manager) may have assessed against the old one. One query for the steps
    already taken."""
    owing: list[int] = []
    if "self" in settings["steps"]:
        classified = [i for i, level in levels.items() if level is not None]
        assessed = set(db.session.scalars(select(EvaluationStep.employee_id).where(
            EvaluationStep.year == year, EvaluationStep.employee_id.in_(classified),
            EvaluationStep.step.in_(("self", "decision"))))) if classified else set()
        owing = [i for i in classified if i not in assessed
                 and (before_levels is None or before_levels.get(i) is None)]
    link = f"/evaluation?year={year}"
    notify(owing, "evaluation.open",
           N_("The evaluation of %(year)s is open: make your self-assessment by %(deadline)s."),
           {"year": year, "deadline": deadline_in(year, settings).strftime("%d/%m/%Y")}, link=link)
    moves: dict[tuple[str | None, str | None], list[int]] = {}
    for c in changed:
        if c["before"] is None:
            continue  # newly classified: the reminder above is their notice
        moves.setdefault((c["before"], c["after"]), []).append(c["employee_id"])
    for (old, new), ids in sorted(moves.items(), key=lambda m: (str(m[0][0]), str(m[0][1]))):
        notify(ids, "evaluation.recalculated",
               N_("Your evaluation of %(year)s was recalculated: the level suggested by the scores is now %(new)s "
                  "(was %(old)s)."), {"year": year, "old": old or "—", "new": new or "—"}, link=link)


def deadline_in(year: int, settings: dict) -> date:
    """The procedure's deadline ("12-DD" in its settings) in `year`."""
    return date(year, 12, int(str(settings["deadline"])[3:]))


def deadline(year: int) -> date:
    """This tenant's deadline of the evaluation of `year`."""
    return deadline_in(year, procedure_settings())


def past_deadline(year: int, today: date | None = None) -> bool:
    return (today or cal.local_today()) > deadline(year)


def days_until(deadline: date, today: date) -> int:
    """Days from today to a deadline, the deadline itself counting (0 once it has passed)."""
    return max(0, (deadline - today).days + 1)


def days_left(year: int, today: date | None = None) -> int:
    return days_until(deadline(year), today or cal.local_today())


def self_assessment_due(principal: Principal) -> dict[str, Any] | None:
    """The signed-in person's own self-assessment, while it is owed: their agency's
    evaluation of this year is open, the tenant's procedure has the step, the deadline has
    not passed (or the agency may go on late) and they have neither assessed themselves nor
    been decided. {"year", "deadline", "days_left"}, else None.

    One statement, since the home page and "Hôm nay" ask it on every visit: the person's
    units up the tree (their agency is the top-most of an agency kind, as `Org` finds it),
    each with its open evaluation of the year, whether the person has a self or decision
    step, and the tenant's procedure settings."""
    from core.classification.services import AGENCY_KINDS

    if principal.employee_id is None or principal.is_operator:
        return None
    today = cal.local_today()
    year = today.year
    up = (select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind, literal(0).label("depth"))
          .join(Employee, Employee.unit_id == OrgUnit.id).where(Employee.id == principal.employee_id)
          .cte("up", recursive=True))
    # The depth bound stops a (corrupt) cycle in the tree, as `agency_of`'s seen set does.
    up = up.union_all(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind, up.c.depth + 1)
                      .join(up, OrgUnit.id == up.c.parent_id).where(up.c.depth < 64))
    done = select(EvaluationStep.id).where(EvaluationStep.year == year,
                                           EvaluationStep.employee_id == principal.employee_id,
                                           EvaluationStep.step.in_(("self", "decision"))).exists()
    # Steps wait only for people the scheme classifies (pending, preview): a director with
    # no scores of their own is not urged to a step the page does not offer them.
    classified = select(EmployeeClassification.id).where(
        EmployeeClassification.year == year, EmployeeClassification.employee_id == principal.employee_id,
        EmployeeClassification.computed_level.is_not(None)).exists()
    stored = (select(ComponentChoice.settings).where(ComponentChoice.kind == PROCEDURE_KIND)
              .order_by(ComponentChoice.effective_from.desc()).limit(1).scalar_subquery())
    rows = db.session.execute(
        select(up.c.id, up.c.kind, up.c.depth, AgencyEvaluation.id.label("evaluation_id"),
               AgencyEvaluation.late_reason, done.label("done"), classified.label("classified"),
               stored.label("settings"))
        .outerjoin(AgencyEvaluation, (AgencyEvaluation.agency_id == up.c.id) & (AgencyEvaluation.year == year))
        .order_by(up.c.depth)).all()
    if not rows:
        return None
    agencies = [r for r in rows if r.kind in AGENCY_KINDS]
    agency = agencies[-1] if agencies else rows[0]
    settings = {**DEFAULTS, **(rows[0].settings or {})}
    if agency.evaluation_id is None or rows[0].done or not rows[0].classified or "self" not in settings["steps"]:
        return None
    deadline = deadline_in(year, settings)
    if today > deadline and agency.late_reason is None:
        return None  # the step is refused now (refuse_after_deadline): nothing to urge
    return {"year": year, "deadline": deadline, "days_left": days_until(deadline, today)}


def refuse_after_deadline(year: int, state: AgencyEvaluation | None) -> None:
    """After the tenant's deadline an agency's evaluation moves on (opening, steps, the
    decision) only under the competent person's override with a reason."""
    if past_deadline(year) and (state is None or state.late_reason is None):
        raise Conflict(_("The deadline of the evaluation of %(year)s was %(deadline)s and has passed: going on needs "
                         "the permission, with a reason, of the agency's head or the Department of Home Affairs.",
                         year=year, deadline=deadline(year).strftime("%d/%m/%Y")), code="deadline_passed")


def _allow_late(principal: Principal, state: AgencyEvaluation, reason: str) -> None:
    before = {"late_reason": state.late_reason, "late_by": state.late_by, "late_at": state.late_at}
    state.late_reason, state.late_by, state.late_at = reason, principal.actor, cal.now()
    db.session.flush()
    record("evaluation.late_override", "agency_evaluation", f"{state.year}:{state.agency_id}", before=before,
           after={"late_reason": reason, "late_by": principal.actor, "late_at": state.late_at,
                  "deadline": deadline(state.year)}, actor=principal.actor)


def allow_late(principal: Principal, year: int, agency_id: int, reason: str) -> AgencyEvaluation:
    """The competent person (the agency's head, or the tenant admin for the level above)
    lets an open agency's evaluation go on after the deadline, with a reason (audited)."""
    from core.classification.services import check_year

    check_year(year)
    org = Org(year)
    _agency(agency_id, org)
    if not (principal.has_role("tenant_admin") or principal.employee_id in org.heads(agency_id)):
        raise _forbid()
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Going on after the deadline needs a reason."), {"reason": [_("Required.")]})
    state = agency_state(year, agency_id)
    if state is None:
        raise Conflict(_("The evaluation of %(year)s is not open for this agency yet.", year=year), code="not_open")
    if not past_deadline(year):
        raise Conflict(_("The deadline %(deadline)s has not passed; there is nothing to allow.",
                         deadline=deadline(year).strftime("%d/%m/%Y")), code="before_deadline")
    if state.late_reason is not None:
        raise Conflict(_("Going on after the deadline is already allowed for this agency."), code="late_allowed")
    _allow_late(principal, state, reason)
    return state


def undecided_agencies(year: int) -> list[str]:
    """Names of the agencies whose evaluation of ``year`` is open and whose staff or leaders
    (those there are) have no decision in force: the province cannot lock the year before them."""
    states = list(db.session.scalars(select(AgencyEvaluation).where(AgencyEvaluation.year == year)))
    if not states:
        return []
    org = Org(year)
    decided = {(d.agency_id, d.scope) for d in db.session.scalars(select(EvaluationDecision).where(
        EvaluationDecision.year == year, EvaluationDecision.status == "decided"))}
    names = []
    for state in states:
        if any(org.members(state.agency_id, scope) and (state.agency_id, scope) not in decided
               for scope in DECISION_SCOPES):
            names.append(db.session.get(OrgUnit, state.agency_id).name)
    return sorted(names)


def agency_view(state: AgencyEvaluation, unit: OrgUnit | None = None) -> dict:
    unit = unit or db.session.get(OrgUnit, state.agency_id)
    return {"year": state.year, "agency_id": state.agency_id, "agency": unit.name, "code": unit.code,
            "months": list(state.months), "counted_to": state.counted_to, "opened_at": state.opened_at,
            "opened_by": state.opened_by, "deadline": deadline(state.year),
            "days_left": days_left(state.year), "late_reason": state.late_reason, "late_by": state.late_by,
            "late_at": state.late_at,
            "decisions": [decision_view(d) for d in db.session.scalars(
                select(EvaluationDecision).where(EvaluationDecision.year == state.year,
                                                 EvaluationDecision.agency_id == state.agency_id)
                .order_by(EvaluationDecision.id))]}


# ---------------------------------------------------------------- the steps


def step_view(s: EvaluationStep) -> dict:
    return {"year": s.year, "employee_id": s.employee_id, "agency_id": s.agency_id, "step": s.step,
            "level": s.level, "comment": s.comment, "data": s.data or {}, "actor": s.actor, "at": s.at}


def _steps(year: int, ids: list[int]) -> dict[int, dict[str, EvaluationStep]]:
    out: dict[int, dict[str, EvaluationStep]] = {}
    if ids:
        for s in db.session.scalars(select(EvaluationStep).where(EvaluationStep.year == year,
                                                                 EvaluationStep.employee_id.in_(ids))):
            out.setdefault(s.employee_id, {})[s.step] = s
    return out


def _active_decisions(year: int, agency_id: int) -> dict[str, EvaluationDecision]:
    return {d.scope: d for d in db.session.scalars(select(EvaluationDecision).where(
        EvaluationDecision.year == year, EvaluationDecision.agency_id == agency_id,
        EvaluationDecision.status == "decided"))}


def _check_level(level: Any, field: str = "level") -> str:
    if level not in LEVELS:
        raise Invalid(_("Choose a level."), {field: [_("One of: %(list)s.", list=", ".join(LEVELS))]})
    return level


def record_step(principal: Principal, year: int, employee_id: int, step: str, data: dict[str, Any]) -> EvaluationStep:
    """Take one step for one person: the previous step done, this one within the caller's
    competence, the agency open and not yet decided for the person."""
    from core.classification.services import check_year

    check_year(year)
    settings = procedure_settings()
    steps = [s for s in settings["steps"] if s != "decision"]
    if step not in steps:
        raise NotFound(_("This tenant's procedure has no such step."))
    org = Org(year)
    if employee_id not in org.people:
        raise NotFound(_("Employee not found."))
    if not may_do(principal, step, employee_id, org):
        raise _forbid()
    agency_id = org.agency[employee_id]
    state = agency_state(year, agency_id)
    if state is None:
        raise Conflict(_("The evaluation of %(year)s is not open for this agency yet.", year=year), code="not_open")
    if org.scope_of(employee_id) in _active_decisions(year, agency_id):
        raise Conflict(_("The evaluation of %(year)s is decided; it changes only by an appeal or a reopening.",
                         year=year), code="decided")
    refuse_after_deadline(year, state)
    level = _check_level(data.get("level"))
    comment = (data.get("comment") or "").strip()
    if not comment:
        raise Invalid(_("Write the assessment."), {"comment": [_("Required.")]})
    minutes: dict[str, Any] = {}
    if step == "meeting":
        minutes = _minutes(data)
    done = _steps(year, [employee_id]).get(employee_id, {})
    index = steps.index(step)
    if index > 0 and steps[index - 1] not in done:
        raise Conflict(_("The step before (%(step)s) is not done yet.", step=step_label(steps[index - 1])),
                       code="step_out_of_order")
    if index + 1 < len(steps) and steps[index + 1] in done:
        raise Conflict(_("The next step (%(step)s) is already done; this one cannot change.",
                         step=step_label(steps[index + 1])), code="step_out_of_order")
    row = done.get(step)
    before = None if row is None else step_view(row)
    if row is None:
        row = EvaluationStep(year=year, employee_id=employee_id, step=step)
        db.session.add(row)
    row.agency_id, row.level, row.comment, row.data = agency_id, level, comment, minutes
    row.actor, row.actor_employee_id, row.at = principal.actor, principal.employee_id, cal.now()
    db.session.flush()
    record(f"evaluation.{step}", "evaluation_step", f"{year}:{employee_id}:{step}", before=before,
           after=step_view(row), actor=principal.actor)
    return row


def _minutes(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    meeting_date = data.get("meeting_date")
    if not isinstance(meeting_date, date):
        errors["meeting_date"] = [_("The date of the meeting is required.")]
    attendees, votes_for, votes_against = (data.get(k) for k in ("attendees", "votes_for", "votes_against"))
    if not isinstance(attendees, int) or attendees < 1:
        errors["attendees"] = [_("At least one person attended.")]
    for key, value in (("votes_for", votes_for), ("votes_against", votes_against)):
        if not isinstance(value, int) or value < 0:
            errors[key] = [_("A whole number, 0 or more.")]
    if not errors and votes_for + votes_against > attendees:
        errors["votes_for"] = [_("More votes than people attending.")]
    if errors:
        raise Invalid(_("The minutes of the meeting are incomplete."), errors)
    return {"meeting_date": meeting_date.isoformat(), "attendees": attendees, "votes_for": votes_for,
            "votes_against": votes_against}


STEP_LABELS = {"self": N_("self-assessment"), "manager": N_("manager's proposal"),
               "meeting": N_("collective meeting"), "decision": N_("decision")}


def step_label(step: str) -> str:
    return _(STEP_LABELS[step])


# ---------------------------------------------------------------- the decision


def confirmation_text(unit: OrgUnit, year: int) -> str:
    return f"{unit.code} {year}"


def preview(principal: Principal, year: int, agency_id: int, scope: str) -> dict:
    """What a decision would freeze: each person in scope with the level the last step
    proposes, and who is still missing a step."""
    if scope not in DECISION_SCOPES:
        raise Invalid(_("Unknown scope."), {"scope": [", ".join(DECISION_SCOPES)]})
    org = Org(year)
    unit = _agency(agency_id, org)
    if not may_decide(principal, agency_id, scope, org):
        raise _forbid()
    last = [s for s in procedure_settings()["steps"] if s != "decision"]
    ids = org.members(agency_id, scope)
    done = _steps(year, ids)
    rows = {r.employee_id: r for r in db.session.scalars(select(EmployeeClassification).where(
        EmployeeClassification.year == year, EmployeeClassification.employee_id.in_(ids)))} if ids else {}
    people, missing = [], []
    for i in ids:
        if i not in rows:
            continue
        steps = done.get(i, {})
        proposed = steps[last[-1]].level if last and last[-1] in steps else rows[i].computed_level
        absent = [s for s in last if s not in steps]
        if absent and rows[i].computed_level is not None:
            missing.append({"employee_id": i, "full_name": org.people[i].full_name, "steps": absent})
        people.append({"employee_id": i, "full_name": org.people[i].full_name, "code": org.people[i].code,
                       "level": proposed if rows[i].computed_level is not None or steps else None,
                       "computed_level": rows[i].computed_level})
    from core.classification.quota_check import quota_breaches

    return {"year": year, "agency_id": agency_id, "agency": unit.name, "scope": scope,
            "confirmation": confirmation_text(unit, year), "people": people, "missing": missing,
            # The meeting may have raised people back to HTXS: the decider sees a breach first.
            "quota_breaches": quota_breaches(year, agency_id, {p["employee_id"]: p["level"] for p in people})}


def decide(principal: Principal, year: int, agency_id: int, scope: str, confirmation: str,
           changes: list[dict] | None = None) -> EvaluationDecision:
    """Decide the levels of an agency's staff (its head) or of its leaders (the level above)."""
    from core.classification.services import check_year, refuse_if_final

    check_year(year)
    view = preview(principal, year, agency_id, scope)  # competence and scope first: 403 before anything
    unit = db.session.get(OrgUnit, agency_id)
    state = agency_state(year, agency_id)
    if state is None:
        raise Conflict(_("The evaluation of %(year)s is not open for this agency yet.", year=year), code="not_open")
    refuse_if_final(year)
    refuse_after_deadline(year, state)
    if " ".join((confirmation or "").split()).casefold() != view["confirmation"].casefold():
        raise Invalid(_("Type %(text)s to confirm the decision.", text=view["confirmation"]),
                      {"confirmation": [_("Type exactly: %(text)s", text=view["confirmation"])]})
    if scope in _active_decisions(year, agency_id):
        raise Conflict(_("%(agency)s has already decided %(year)s; reopen it first.", agency=unit.name, year=year),
                       code="decided")
    signatory = signatory_for(principal, scope)
    if view["missing"]:
        names = ", ".join(m["full_name"] for m in view["missing"][:5])
        raise Conflict(_("Earlier steps are not done for %(count)s person(s): %(names)s.",
                         count=len(view["missing"]), names=names), code="step_out_of_order")
    levels = {p["employee_id"]: p["level"] for p in view["people"]}
    reasons: dict[int, str] = {}
    for n, change in enumerate(changes or []):
        if change.get("employee_id") not in levels:
            raise Invalid(_("A change names someone outside this decision."), {f"changes.{n}": [_("Not in scope.")]})
        _check_level(change.get("level"), f"changes.{n}.level")
        if not (change.get("reason") or "").strip():
            raise Invalid(_("A change of the proposed level needs a reason."), {f"changes.{n}.reason": [_("Required.")]})
        levels[change["employee_id"]], reasons[change["employee_id"]] = change["level"], change["reason"].strip()
    moment = cal.now()
    decision = EvaluationDecision(year=year, agency_id=agency_id, scope=scope, status="decided",
                                  confirmation=view["confirmation"], levels={str(k): v for k, v in levels.items()},
                                  decided_by=principal.actor, decided_at=moment, decider_id=signatory["employee_id"],
                                  decider_name=signatory["full_name"], decider_title=signatory["title"],
                                  decider_email=signatory["email"],
                                  appeal_until=moment + timedelta(days=int(procedure_settings()["appeal_days"])))
    db.session.add(decision)
    db.session.flush()
    rows = {r.employee_id: r for r in db.session.scalars(select(EmployeeClassification).where(
        EmployeeClassification.year == year, EmployeeClassification.employee_id.in_(list(levels))))}
    for employee_id, level in levels.items():
        db.session.add(EvaluationStep(year=year, employee_id=employee_id, agency_id=agency_id, step="decision",
                                      level=level, comment=reasons.get(employee_id),
                                      data={"decision_id": decision.id}, actor=principal.actor,
                                      actor_employee_id=principal.employee_id, at=moment))
        _set_level(rows[employee_id], level, reasons_text.decision_reason(decision.id), principal.actor, moment)
    db.session.flush()
    record("evaluation.decide", "evaluation_decision", decision.id, after=decision_view(decision),
           actor=principal.actor)
    webhooks.publish("classification.decided", {"decision_id": decision.id, "year": year, "agency_id": agency_id,
                                                "scope": scope, "decided_by": principal.actor,
                                                "levels": {str(k): v for k, v in levels.items()}})
    until = cal.local_date(decision.appeal_until, cal.current_tenant()).strftime("%d/%m/%Y")
    # The in-app notice links the written one: the person's annual form, printed from the decision.
    for level in set(levels.values()):
        notify([i for i, lv in levels.items() if lv == level], "evaluation.decided",
               N_("Notice: your classification of %(year)s is decided: %(level)s. You may appeal until %(until)s."),
               {"year": year, "level": level or "—", "until": until}, link=notice_link(year))
    return decision


def notice_link(year: int) -> str:
    """Where a decided person reads the written notice (relative to the tenant's pages)."""
    return f"/documents/classification-form?year={year}&format=pdf"


def _set_level(row: EmployeeClassification, level: str | None, reason: str, actor: str, moment: datetime) -> None:
    """The contract's listing and the bonus read the level from the classification row."""
    if level == row.computed_level:
        row.override_level = row.override_reason = row.override_by = row.override_at = None
    else:
        row.override_level, row.override_reason, row.override_by, row.override_at = level, reason, actor, moment


def decision_view(d: EvaluationDecision) -> dict:
    return {"id": d.id, "year": d.year, "agency_id": d.agency_id, "scope": d.scope, "status": d.status,
            "levels": {int(k): v for k, v in (d.levels or {}).items()}, "decided_by": d.decided_by,
            "decided_at": d.decided_at, "appeal_until": d.appeal_until, "reopened_by": d.reopened_by,
            "reopened_at": d.reopened_at, "reopen_reason": d.reopen_reason, "decider_id": d.decider_id,
            "decider_name": d.decider_name, "decider_title": d.decider_title,
            "signed": d.signed_at is not None, "signed_at": d.signed_at, "signed_by": d.signed_by,
            "signer_id": d.signer_id, "signer_subject": d.signer_subject}


def decision_document(decision_id: int) -> dict:
    """Everything an official document of a decision needs (core/documents may render it):
    the agency, year, decider, date and the list of people with their levels in force."""
    d = db.session.get(EvaluationDecision, decision_id)
    if d is None:
        raise NotFound(_("Decision not found."))
    unit = db.session.get(OrgUnit, d.agency_id)
    ids = [int(k) for k in d.levels]
    names = {i: (n, c) for i, n, c in db.session.execute(
        select(Employee.id, Employee.full_name, Employee.code).where(Employee.id.in_(ids)))} if ids else {}
    now_levels = {s.employee_id: s.level for s in db.session.scalars(select(EvaluationStep).where(
        EvaluationStep.year == d.year, EvaluationStep.step == "decision", EvaluationStep.employee_id.in_(ids)))}
    return {"decision_id": d.id, "year": d.year, "agency": {"id": unit.id, "code": unit.code, "name": unit.name},
            "scope": d.scope, "status": d.status, "decided_by": d.decided_by, "decided_at": d.decided_at,
            "appeal_until": d.appeal_until,
            "people": [{"employee_id": i, "full_name": names[i][0], "code": names[i][1],
                        "level": now_levels.get(i, d.levels[str(i)])} for i in sorted(ids, key=lambda i: names[i][1])]}


def reopen(principal: Principal, year: int, agency_id: int, scope: str, reason: str) -> EvaluationDecision:
    """Reopen a decided year for an agency's staff or leaders: the decision stays, marked
    reopened with the reason; its people's levels go back to what the steps propose."""
    reason = (reason or "").strip()
    org = Org(year)
    _agency(agency_id, org)
    if scope not in DECISION_SCOPES:
        raise Invalid(_("Unknown scope."), {"scope": [", ".join(DECISION_SCOPES)]})
    if not may_decide(principal, agency_id, scope, org):
        raise _forbid()
    if not reason:
        raise Invalid(_("Reopening a decided year needs a reason."), {"reason": [_("Required.")]})
    from core.classification.services import refuse_if_final

    refuse_if_final(year)
    decision = _active_decisions(year, agency_id).get(scope)
    if decision is None:
        raise Conflict(_("There is no decision to reopen."), code="not_decided")
    ids = [int(k) for k in decision.levels]
    before = decision_view(decision)
    decision.status, decision.reopened_by, decision.reopened_at = "reopened", principal.actor, cal.now()
    decision.reopen_reason = reason
    state = agency_state(year, agency_id)
    if past_deadline(year) and state is not None and state.late_reason is None:
        # Reopening after the deadline is itself the competent person's reasoned permission
        # to take the steps again.
        _allow_late(principal, state, reason)
    db.session.execute(delete(EvaluationStep).where(EvaluationStep.year == year, EvaluationStep.step == "decision",
                                                    EvaluationStep.employee_id.in_(ids)))
    for row in db.session.scalars(select(EmployeeClassification).where(
            EmployeeClassification.year == year, EmployeeClassification.employee_id.in_(ids))):
        _set_level(row, row.computed_level, "", principal.actor, cal.now())
    db.session.flush()
    record("evaluation.reopen", "evaluation_decision", decision.id, before=before, after=decision_view(decision),
           actor=principal.actor)
    notify(ids, "evaluation.reopened", N_("The decision on your classification of %(year)s was reopened: %(reason)s"),
           {"year": year, "reason": reason}, link=f"/evaluation?year={year}")
    return decision


# ---------------------------------------------------------------- appeals after the decision


def decision_for(year: int, employee_id: int) -> EvaluationDecision | None:
    step = db.session.scalar(select(EvaluationStep).where(EvaluationStep.year == year,
                                                          EvaluationStep.employee_id == employee_id,
                                                          EvaluationStep.step == "decision"))
    return None if step is None else db.session.get(EvaluationDecision, step.data["decision_id"])


def under_procedure(year: int, employee_id: int) -> bool:
    """Whether the person's agency runs the procedure for ``year`` (then the draft's appeal
    and override rules give way to it)."""
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        return False
    from core.classification.services import agency_of

    units = {u.id: (u.parent_id, u.kind) for u in db.session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind))}
    return agency_state(year, agency_of(employee.unit_id, units)) is not None


def appeals_against(decision: EvaluationDecision, employee_id: int) -> list[ClassificationAppeal]:
    """The person's appeals against ``decision``: those filed since it was taken (a reopened
    and retaken decision is a new decision, open to its own appeal)."""
    return list(db.session.scalars(select(ClassificationAppeal).where(
        ClassificationAppeal.year == decision.year, ClassificationAppeal.employee_id == employee_id,
        ClassificationAppeal.filed_at >= decision.decided_at).order_by(ClassificationAppeal.id)))


def file_appeal(principal: Principal, year: int, employee_id: int, reason: str) -> ClassificationAppeal:
    if principal.employee_id != employee_id:
        raise Forbidden(_("Only the person classified may appeal."), code="outside_competence")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("An appeal needs a reason."), {"reason": [_("Required.")]})
    decision = decision_for(year, employee_id)
    if decision is None:
        raise Conflict(_("Appeals come after the decision; %(year)s is not decided for you yet.", year=year),
                       code="not_decided")
    if cal.now() > decision.appeal_until:
        until = cal.local_date(decision.appeal_until, cal.current_tenant()).strftime("%d/%m/%Y")
        raise Conflict(_("The time to appeal ended on %(until)s.", until=until), code="appeal_window_closed")
    if db.session.scalar(select(ClassificationAppeal.id).where(
            ClassificationAppeal.year == year, ClassificationAppeal.employee_id == employee_id,
            ClassificationAppeal.status == "pending")) is not None:
        raise Conflict(_("An appeal of this classification is already pending."), code="appeal_pending")
    settled = next((a for a in appeals_against(decision, employee_id) if a.status != "pending"), None)
    if settled is not None:
        # One appeal per decision to its decider (Law on Complaints 2011, Art. 7: the first
        # complaint goes to whoever decided; a second one goes to the level above or to court).
        day = cal.local_date(settled.resolved_at, cal.current_tenant()).strftime("%d/%m/%Y") \
            if settled.resolved_at else ""
        raise Conflict(_("Your appeal against this decision was settled on %(day)s; the same decider does not take a "
                         "second one. If you disagree, a second complaint goes to the head of the level above, or to "
                         "the court (Law on Complaints 2011, Art. 7).", day=day), code="appeal_settled")
    from core.classification.services import appeal_view

    level = db.session.scalar(select(EvaluationStep.level).where(
        EvaluationStep.year == year, EvaluationStep.employee_id == employee_id, EvaluationStep.step == "decision"))
    appeal = ClassificationAppeal(year=year, employee_id=employee_id, level_appealed=level, reason=reason,
                                  filed_at=cal.now())
    db.session.add(appeal)
    db.session.flush()
    record("evaluation.appeal", "classification_appeal", appeal.id, after=appeal_view(appeal), actor=principal.actor)
    return appeal


def resolve_appeal(principal: Principal, appeal_id: int, outcome: str, reason: str,
                   level: str | None) -> ClassificationAppeal:
    """The decider's competence resolves the appeal; upheld with a level changes the decided
    level (the step keeps the level before it, the audit both)."""
    from core.classification.services import RESOLVED, appeal_view

    appeal = db.session.get(ClassificationAppeal, appeal_id)
    if appeal is None:
        raise NotFound(_("Appeal not found."))
    org = Org(appeal.year)
    if not may_do(principal, "decision", appeal.employee_id, org):
        raise _forbid()
    reason = (reason or "").strip()
    if outcome not in ("upheld", "rejected"):
        raise Invalid(_("Uphold or reject the appeal."), {"decision": ["upheld, rejected"]})
    if not reason:
        raise Invalid(_("A decision on an appeal needs a reason."), {"reason": [_("Required.")]})
    if level is not None and (outcome != "upheld" or level not in LEVELS):
        raise Invalid(_("A new level goes with an upheld appeal."), {"level": [", ".join(LEVELS)]})
    if appeal.status != "pending":
        raise Conflict(_("This appeal is already resolved."), code="appeal_resolved")
    step = db.session.scalar(select(EvaluationStep).where(
        EvaluationStep.year == appeal.year, EvaluationStep.employee_id == appeal.employee_id,
        EvaluationStep.step == "decision"))
    if step is None:
        raise Conflict(_("The decision this appeal is against was reopened."), code="not_decided")
    moment = cal.now()
    appeal.status, appeal.resolution, appeal.new_level = outcome, reason, level
    appeal.resolved_by, appeal.resolved_at = principal.actor, moment
    if level is not None and level != step.level:
        before = step_view(step)
        step.data = {**(step.data or {}), "appeal_id": appeal.id, "level_before_appeal": step.level}
        step.level, step.comment = level, reason
        row = db.session.scalar(select(EmployeeClassification).where(
            EmployeeClassification.year == appeal.year, EmployeeClassification.employee_id == appeal.employee_id))
        _set_level(row, level, reasons_text.appeal_reason(appeal.id, reason), principal.actor, moment)
        db.session.flush()
        record("evaluation.level_changed", "evaluation_step", f"{appeal.year}:{appeal.employee_id}:decision",
               before=before, after=step_view(step), actor=principal.actor)
    db.session.flush()
    record("evaluation.appeal_resolve", "classification_appeal", appeal.id, after=appeal_view(appeal),
           actor=principal.actor)
    notify([appeal.employee_id], "classification.appeal_resolved", RESOLVED[outcome],
           {"year": appeal.year, "reason": reason}, link=f"/evaluation?year={appeal.year}")
    return appeal


# ---------------------------------------------------------------- what waits for whom


def pending(principal: Principal, year: int) -> dict:
    """The caller's pending work of ``year``: steps to take for people, decisions to make,
    appeals to resolve; people of open agencies only. A few queries, whatever the size."""
    org = Org(year)
    open_agencies = set(db.session.scalars(select(AgencyEvaluation.agency_id).where(AgencyEvaluation.year == year)))
    steps = [s for s in procedure_settings()["steps"] if s != "decision"]
    ids = [i for i, a in org.agency.items() if a in open_agencies]
    # Steps wait only for people the scheme classifies (as the decision requires).
    classified = set(db.session.scalars(select(EmployeeClassification.employee_id).where(
        EmployeeClassification.year == year, EmployeeClassification.computed_level.is_not(None))))
    done = _steps(year, ids)
    decided = {(d.agency_id, d.scope) for d in db.session.scalars(select(EvaluationDecision).where(
        EvaluationDecision.year == year, EvaluationDecision.status == "decided"))}
    todo: list[dict] = []
    for i in ids:
        if i not in classified or (org.agency[i], org.scope_of(i)) in decided:
            continue
        have = done.get(i, {})
        for n, step in enumerate(steps):
            if step in have:
                continue
            if (n == 0 or steps[n - 1] in have) and may_do(principal, step, i, org):
                todo.append({"employee_id": i, "full_name": org.people[i].full_name, "step": step,
                             "previous": step_view(have[steps[n - 1]]) if n else None})
            break
    decisions = []
    units = {u.id: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(open_agencies)))} \
        if open_agencies else {}
    for agency_id in sorted(open_agencies):
        for scope in DECISION_SCOPES:
            if (agency_id, scope) not in decided and org.members(agency_id, scope) and \
                    may_decide(principal, agency_id, scope, org):
                unit = units[agency_id]
                decisions.append({"agency_id": agency_id, "agency": unit.name, "scope": scope,
                                  "confirmation": confirmation_text(unit, year)})
    from core.classification.services import appeal_view

    # The decider sees who appeals, not only the reason.
    appeals = [{**appeal_view(a), "full_name": org.people[a.employee_id].full_name}
               for a in db.session.scalars(select(ClassificationAppeal).where(
        ClassificationAppeal.year == year, ClassificationAppeal.status == "pending",
        ClassificationAppeal.employee_id.in_(ids)).order_by(ClassificationAppeal.id))
        if may_do(principal, "decision", a.employee_id, org)] if ids else []
    return {"year": year, "steps": todo, "decisions": decisions, "appeals": appeals}


def not_self_assessed(principal: Principal, year: int, org: Org, steps: Iterable[str]) -> list[dict] | None:
    """The signed-in person's direct reports who still owe their self-assessment of ``year``:
    their agency's evaluation is open, the scheme classifies them (steps wait for no one
    else) and they have neither assessed themselves nor been decided. By given name, in the
    Vietnamese alphabet: [{"employee_id", "full_name", "code"}] (empty: everyone has); None when nobody the
    scheme classifies reports to the reader in an open agency, or the procedure has no
    self-assessment. One query: the reports come from ``org``, already loaded for the page."""
    me = principal.employee_id
    if me is None or principal.is_operator or "self" not in steps:
        return None
    by_agency: dict[int, list[int]] = {}
    for i, p in org.people.items():
        if p.manager_id == me and i != me:
            by_agency.setdefault(org.agency[i], []).append(i)
    if not by_agency:
        return None
    person = EmployeeClassification.employee_id
    open_here = [person.in_(ids) & select(AgencyEvaluation.id).where(
        AgencyEvaluation.year == year, AgencyEvaluation.agency_id == agency_id).exists()
        for agency_id, ids in by_agency.items()]
    assessed = select(EvaluationStep.id).where(EvaluationStep.year == year, EvaluationStep.employee_id == person,
                                               EvaluationStep.step.in_(("self", "decision"))).exists()
    rows = db.session.execute(select(person, assessed).where(
        EmployeeClassification.year == year, EmployeeClassification.computed_level.is_not(None), or_(*open_here))).all()
    if not rows:
        return None
    from core.documents.data import name_key  # the Vietnamese alphabet's order, as the printed lists

    return sorted(({"employee_id": i, "full_name": org.people[i].full_name, "code": org.people[i].code}
                   for i, done in rows if not done), key=lambda p: (name_key(p["full_name"]), p["code"] or ""))


def next_step(org: Org, year: int, employee_id: int, done: Iterable[str]) -> dict[str, Any] | None:
    """Who must act next on a person's evaluation, and by when: {"step", "by" (a full name,
    or None for the level above — the tenant admin, i.e. the Sở Nội vụ), "by_ids" (their
    staff records), "deadline"}; None
    before the agency opens or once the decision is taken."""
    agency_id = org.agency.get(employee_id)
    if agency_id is None or agency_state(year, agency_id) is None:
        return None
    done = set(done)  # once: a generator read inside the loop would be empty from the second step on
    step = next((s for s in procedure_settings()["steps"] if s not in done), None)
    if step is None:
        return None
    person = org.people[employee_id]
    by: str | None = person.full_name
    by_ids = [employee_id]  # whose step it is, so the page says "bạn" to that reader
    if step in ("manager", "meeting"):
        boss = org.people.get(person.manager_id)
        by, by_ids = (boss.full_name, [boss.id]) if boss is not None else (None, [])
    elif step == "decision":
        by_ids = sorted(org.heads(agency_id)) if org.scope_of(employee_id) == "staff" else []
        by = ", ".join(org.people[h].full_name for h in by_ids) or None
    return {"step": step, "by": by, "by_ids": by_ids, "deadline": deadline(year)}


def waiting_for(principal: Principal) -> dict[str, Any] | None:
    """What of this year's evaluation waits for the signed-in person beyond their own
    self-assessment (which `self_assessment_due` announces): proposals and minutes for their
    staff, decisions, appeals, and their own decided level while they may appeal it —
    {"year", "steps", "decisions", "appeals", "deadline", "decided"} for the home page, or
    None. Only while some agency's evaluation of the year is open, so the rest of the year
    the home page pays one small query."""
    if principal.is_operator:
        return None
    year = cal.local_today().year
    if db.session.scalar(select(AgencyEvaluation.id).where(AgencyEvaluation.year == year).limit(1)) is None:
        return None
    # Steps for staff, decisions and appeals are for those whom someone reports to, leaders
    # and the tenant admin: everyone else's home page skips the tenant-wide `pending`.
    me = principal.employee_id
    may_wait = principal.has_role("tenant_admin") or me is not None and db.session.scalar(
        select(literal(True)).where((select(Employee.id).where(Employee.manager_id == me).exists())
                                    | (select(Employee.id).where(Employee.id == me, Employee.is_leader).exists())))
    work = pending(principal, year) if may_wait else {"steps": [], "decisions": [], "appeals": []}
    steps = [s for s in work["steps"] if s["step"] != "self"]
    decided = None
    if principal.employee_id is not None:
        step = db.session.scalar(select(EvaluationStep).where(
            EvaluationStep.year == year, EvaluationStep.employee_id == principal.employee_id,
            EvaluationStep.step == "decision"))
        decision = None if step is None else db.session.get(EvaluationDecision, step.data["decision_id"])
        if decision is not None and cal.now() <= decision.appeal_until:
            # The written notice's gist, while it matters: until the appeal window ends; an
            # appeal already filed against it is not offered again (one per decision).
            decided = {"level": step.level or "—",
                       "may_appeal": not appeals_against(decision, principal.employee_id),
                       "appeal_until": cal.local_date(decision.appeal_until, cal.current_tenant())}
    if not (steps or work["decisions"] or work["appeals"] or decided):
        return None
    return {"year": year, "steps": len(steps), "decisions": len(work["decisions"]),
            "appeals": len(work["appeals"]), "deadline": deadline(year), "decided": decided}


def person(principal: Principal, year: int, employee_id: int) -> dict:
    """A person's evaluation: their steps so far, the decision and appeals (the person, those
    competent for a step, tenant admin and auditor)."""
    org = Org(year)
    if employee_id not in org.people:
        raise NotFound(_("Employee not found."))
    if not (principal.employee_id == employee_id or principal.has_role("tenant_admin", "auditor")
            or any(may_do(principal, s, employee_id, org) for s in STEPS)):
        raise _forbid()
    row = db.session.scalar(select(EmployeeClassification).where(EmployeeClassification.year == year,
                                                                 EmployeeClassification.employee_id == employee_id))
    decision = decision_for(year, employee_id)
    from core.classification.basis import basis
    from core.classification.services import appeal_view

    return {"year": year, "employee_id": employee_id, "full_name": org.people[employee_id].full_name,
            # Why the suggested level: the months counted, those without general criteria, the rules.
            "basis": basis(year, {employee_id: org.agency[employee_id]}).get(employee_id),
            "agency_id": org.agency[employee_id], "scope": org.scope_of(employee_id),
            "computed_level": row.computed_level if row else None,
            "total": None if row is None or row.total is None else float(row.total),
            # The scheme's reasons beside the bands: the HTXS quota, a discipline, too few months.
            "demoted_by_quota": bool(row and row.demoted_by_quota), "forced_kht": bool(row and row.forced_kht),
            "months_worked": None if row is None else row.months_worked,
            "steps": [step_view(s) for s in sorted(_steps(year, [employee_id]).get(employee_id, {}).values(),
                                                   key=lambda s: STEPS.index(s.step))],
            "decision": None if decision is None else decision_view(decision),
            "appeals": [appeal_view(a) for a in db.session.scalars(select(ClassificationAppeal).where(
                ClassificationAppeal.year == year, ClassificationAppeal.employee_id == employee_id)
                .order_by(ClassificationAppeal.id))]}
