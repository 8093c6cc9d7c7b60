"""What each official document says, gathered from the data the platform holds.

Each builder returns a plain dict (strings, numbers, lists of dicts): the same context
fills the built-in PDF layout and a tenant's DOCX template, and the evaluation procedure
can add what its own steps collected (``extra``: a self-assessment text, the manager's
comments, the collective meeting) without this module knowing their tables. Official
documents are in Vietnamese whatever the reader's interface language (Decree 30/2020,
Art. 8: the language of administrative documents is Vietnamese).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.classification.basis import months_evaluated
from core.classification.models import (
    AgencyEvaluation,
    ClassificationYear,
    EmployeeClassification,
    EvaluationDecision,
    EvaluationStep,
)
from core.classification.reasons import shown as shown_reason
from core.classification.services import AGENCY_KINDS, agency_of
from core.documents.models import IssuedDecision
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.org.models import Employee, JobPosition, OrgUnit
from core.plugins.components import LEVELS
from core.scoring.models import GeneralScore, PeriodScore
from core.work import calendar as cal

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
LEVEL_LABELS = {
    "HTXS": "Hoàn thành xuất sắc nhiệm vụ",
    "HTT": "Hoàn thành tốt nhiệm vụ",
    "HT": "Hoàn thành nhiệm vụ",
    "KHT": "Không hoàn thành nhiệm vụ",
}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
PLACE_PREFIXES = ("Tỉnh ", "Thành phố ", "TP. ")
DEFAULT_DECISION_NUMBER_BLANK = "      "


VI_ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
# Tone marks, in the order Vietnamese dictionaries sort them (none, grave, hook, tilde, acute, dot).
VI_TONES = {"": 0, "\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vi_key(text: str) -> tuple:
    """Vietnamese dictionary order: letters by the Vietnamese alphabet (ă after a, đ after
    d, ư after u), tones only to break ties."""
    letters, tones = [], []
    for char in unicodedata.normalize("NFC", text.casefold()):
        parts = unicodedata.normalize("NFD", char)
        base, marks = parts[0], parts[1:]
        tone = next((m for m in marks if m in VI_TONES), "")
        shape = unicodedata.normalize("NFC", base + "".join(m for m in marks if m != tone))
        letters.append((VI_ALPHABET.index(shape), "") if shape in VI_ALPHABET else (len(VI_ALPHABET), shape))
        tones.append(VI_TONES[tone])
    return letters, tones


def name_key(full_name: str) -> tuple:
    """Lists of people sort by given name (the last word), then by the whole name."""
    return vi_key(full_name.split()[-1] if full_name.split() else ""), vi_key(full_name)


def _num(value: Decimal | float | None) -> str:
    """A score as Vietnamese write it: 85,50 (a comma before the decimals); blank when none."""
    if value is None:
        return ""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}".replace(".", ",")


def tenant_place(tenant_name: str) -> str:
    """The place name of the date line: "Khánh Hòa" for the tenant "Tỉnh Khánh Hòa"."""
    for prefix in PLACE_PREFIXES:
        if tenant_name.startswith(prefix):
            return tenant_name[len(prefix):]
    return tenant_name


def date_text(day: date) -> str:
    month_text = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month_text} năm {day.year}"


def date_line(place: str, day: date) -> str:
    """Decree 30, Annex I: "Khánh Hòa, ngày 06 tháng 12 năm 2026" — a day below 10 and the
    months 1 and 2 take a leading zero, the other months none."""
    return f"{place}, {date_text(day)}"


def _units() -> dict[int, tuple[int | None, str]]:
    return {u.id: (u.parent_id, u.kind) for u in db.session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.kind))}


def agency_unit(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, agency_of(unit_id, _units()))
    if unit is None:
        raise NotFound("Unit not found.")
    return unit


def abbreviation(unit: OrgUnit) -> str:
    """The agency's short name for "Số: 12/QĐ-SNV": its initials ("Sở Nội vụ" → SNV)."""
    letters = []
    for word in unit.name.split():
        first = unicodedata.normalize("NFD", word)[0]
        if first.isalpha():
            letters.append("D" if word[0] in "Đđ" else first.upper())
    return "".join(letters) or unit.code.upper()


def header(tenant_name: str, agency: OrgUnit, day: date, number: str | None, kind_code: str | None) -> dict[str, str]:
    """The Decree 30 heading: governing body and agency on the left with the number, the
    national title and motto on the right with the place and date."""
    parent = db.session.get(OrgUnit, agency.parent_id) if agency.parent_id else None
    authority = (parent.name if parent is not None else f"UBND {tenant_name}").upper()
    number_ref = f"{number or DEFAULT_DECISION_NUMBER_BLANK}/{kind_code}-{abbreviation(agency)}" if kind_code else ""
    return {"national_title": NATIONAL_TITLE, "motto": MOTTO, "authority": authority,
            "agency": agency.name.upper(), "agency_name": agency.name, "number_ref": number_ref,
            "number_line": f"Số: {number_ref}" if number_ref else "", "date_text": date_text(day),
            "place_date": date_line(tenant_place(tenant_name), day)}


def _person(e: Employee) -> dict[str, str]:
    return {"name": e.full_name, "code": e.code, "position": e.position.name if e.position else "",
            "unit": e.unit.name}


def _employee(employee_id: int) -> Employee:
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        raise NotFound("Employee not found.")
    return employee


def parse_period(period: str) -> tuple[int, list[str], str]:
    """A month (2026-11) or quarter (2026-Q4): the year, its months and the label."""
    try:
        if len(period) == 7 and period[4] == "-" and period[5] != "Q":
            year, month = int(period[:4]), int(period[5:])
            if 1 <= month <= 12:
                return year, [period], f"tháng {month:02d} năm {year}"
        if len(period) == 7 and period[4:6] == "-Q":
            year, quarter = int(period[:4]), int(period[6])
            if 1 <= quarter <= 4:
                months = [f"{year:04d}-{m:02d}" for m in range(3 * quarter - 2, 3 * quarter + 1)]
                return year, months, f"quý {ROMAN[quarter]} năm {year}"
    except ValueError:
        pass
    raise Invalid("Not an evaluation period.", {"period": ["Use YYYY-MM for a month or YYYY-Qn for a quarter."]})


def _mean(values: list[Decimal]) -> Decimal | None:
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01")) if values else None


GENERAL = (("politics_ethics", "Chính trị, tư tưởng, đạo đức, lối sống, ý thức tổ chức kỷ luật"),
           ("competence_attitude", "Năng lực, kỹ năng, thái độ phục vụ"),
           ("innovation", "Tinh thần đổi mới, sáng tạo, dám nghĩ, dám làm"))


def evaluation_form(tenant_name: str, employee_id: int, period: str, day: date,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The periodic evaluation form (phiếu đánh giá): Part I the person's own assessment
    (their proposed general criteria and comment), Part II the direct manager's (the
    criteria set, comment and the period's score). A quarter shows its three months and
    the means of the months that have a value."""
    employee = _employee(employee_id)
    year, months, label = parse_period(period)
    scores = {r.period: r for r in db.session.scalars(
        select(PeriodScore).where(PeriodScore.employee_id == employee_id, PeriodScore.period.in_(months)))}
    general = {r.period: r for r in db.session.scalars(
        select(GeneralScore).where(GeneralScore.employee_id == employee_id, GeneralScore.period.in_([*months, period])))}
    # Criteria set for the whole quarter (a person evaluated by quarters) stand for its months'.
    whole = general.pop(period, None) if len(months) > 1 else None
    rows = []
    for month in months:
        s = scores.get(month)
        rows.append({"period": f"{month[5:]}/{month[:4]}", "items": s.item_count if s else 0,
                     "task_score": _num(s.task_score if s else None),
                     "general_score": _num(s.general_score if s else None),
                     "total": _num(s.total if s else None),
                     "provisional": "tạm tính" if s is not None and s.provisional else ""})

    def criteria(prefix: str) -> list[dict[str, str]]:
        out = []
        for field, title in GENERAL:
            if whole is not None and getattr(whole, prefix + field) is not None:
                out.append({"title": title, "score": _num(getattr(whole, prefix + field)), "max": "10"})
                continue
            values = [getattr(general[m], prefix + field) for m in months
                      if m in general and getattr(general[m], prefix + field) is not None]
            out.append({"title": title, "score": _num(_mean(values)), "max": "10"})
        return out

    def comments(field: str) -> str:
        if whole is not None and getattr(whole, field):
            return getattr(whole, field)
        return "\n".join(getattr(general[m], field) for m in months if m in general and getattr(general[m], field))

    self_part, manager_part = criteria("self_"), criteria("")
    totals = [s.total for m in months if (s := scores.get(m)) is not None and s.item_count > 0]
    if whole is not None and whole.set_at is not None and whole.total is not None and totals:
        # The quarter's own criteria make its general score: the months' task mean plus them.
        task = _mean([s.task_score for m in months if (s := scores.get(m)) is not None and s.item_count > 0])
        totals = [task + whole.total]
    manager = db.session.get(Employee, employee.manager_id) if employee.manager_id else None
    agency = agency_unit(employee.unit_id)
    ctx = {**header(tenant_name, agency, day, None, None), **_person(employee),
           "title": f"PHIẾU ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG {label.upper()}", "period_label": label,
           "period": period, "months": rows, "self_criteria": self_part, "self_comment": comments("self_comment"),
           "manager_criteria": manager_part, "manager_comment": comments("comment"),
           "manager_name": manager.full_name if manager else "",
           "total": _num(_mean(totals)), "self_assessment": "", "manager_proposal": ""}
    ctx.update(extra or {})
    return ctx


def _level_fields(level: str | None) -> dict[str, str]:
    return {"level": level or "", "level_label": LEVEL_LABELS.get(level or "", "Chưa xếp loại")}


def _computed_level(row: EmployeeClassification) -> str:
    """The level by the score as the form prints it: a total of 95 beside "HTT" must say that
    the HTXS quota moved the person down, or the form contradicts its own bands."""
    if row.demoted_by_quota and row.computed_level:
        return (f"{row.computed_level} (tổng điểm đạt HTXS; chuyển xuống {row.computed_level} theo tỷ lệ khống chế "
                "HTXS của cơ quan và nhóm vị trí việc làm)")
    return row.computed_level or ""


def classification_form(tenant_name: str, employee_id: int, year: int, day: date,
                        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The annual evaluation and classification form of one person (Decree 335/2025 and
    Decree 90/2020 annexes: the person's self-assessment, the manager's comments and
    proposed level, the level decided), from the year's classification row."""
    employee = _employee(employee_id)
    row = db.session.scalar(select(EmployeeClassification).where(EmployeeClassification.year == year,
                                                                 EmployeeClassification.employee_id == employee_id))
    if row is None:
        raise NotFound("This person has no classification for that year.",
                       {"year": [f"No classification of {year} for this person."]})
    state = db.session.scalar(select(ClassificationYear).where(ClassificationYear.year == year))
    agency = agency_unit(employee.unit_id)
    manager = db.session.get(Employee, employee.manager_id) if employee.manager_id else None
    ctx = {**header(tenant_name, agency, day, None, None), **_person(employee),
           "title": f"PHIẾU ĐÁNH GIÁ, XẾP LOẠI CHẤT LƯỢNG CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC NĂM {year}",
           "year": str(year), "months_worked": str(months_evaluated(year, employee_id, agency.id)),
           "task_score": _num(row.task_score),
           "total": _num(row.total), "computed_level": _computed_level(row),
           "override_reason": shown_reason(row.override_reason, "vi") or "",
           "status": "chính thức" if state is not None and state.status == "final" else "dự kiến",
           "manager_name": manager.full_name if manager else "",
           "self_assessment": "", "manager_comment": shown_reason(row.override_reason, "vi") or "", "notice": "",
           **_level_fields(row.level)}
    ctx.update(procedure_form_fields(employee_id, year))
    ctx.update(extra or {})
    return ctx


def _day(moment) -> str:
    return cal.local_date(moment, cal.current_tenant()).strftime("%d/%m/%Y")


def procedure_form_fields(employee_id: int, year: int) -> dict[str, str]:
    """What the evaluation procedure recorded for the person's annual form: their own
    self-assessment, the manager's comments (and the meeting's votes), and — once decided —
    the level decided, written as the notice of the decision with the time to appeal."""
    steps = {s.step: s for s in db.session.scalars(select(EvaluationStep).where(
        EvaluationStep.year == year, EvaluationStep.employee_id == employee_id))}
    if not steps:
        return {}
    out: dict[str, str] = {}
    if "self" in steps:
        out["self_assessment"] = f"Tự xếp loại: {steps['self'].level}. {steps['self'].comment or ''}".strip()
    comments = []
    if "manager" in steps:
        comments.append(f"Đề xuất xếp loại: {steps['manager'].level}. {steps['manager'].comment or ''}".strip())
    if "meeting" in steps:
        m = steps["meeting"].data or {}
        held = date.fromisoformat(m["meeting_date"]).strftime("%d/%m/%Y") if m.get("meeting_date") else ""
        comments.append(f"Họp tập thể ngày {held}: {m.get('attendees', '')} người dự, {m.get('votes_for', '')} "
                        f"tán thành, {m.get('votes_against', '')} không tán thành; đề nghị {steps['meeting'].level}.")
    if comments:
        out["manager_comment"] = " ".join(comments)
    decided = steps.get("decision")
    d = db.session.get(EvaluationDecision, (decided.data or {}).get("decision_id")) if decided else None
    if decided is None or d is None or d.status != "decided":
        out["status"] = "dự kiến"
        return out
    issued = db.session.scalar(select(IssuedDecision.number).where(
        IssuedDecision.decision_id == d.id, IssuedDecision.number.is_not(None)).order_by(IssuedDecision.id.desc())
        .limit(1))
    agency = db.session.get(OrgUnit, d.agency_id)
    number = f"số {issued}/QĐ-{abbreviation(agency)} " if issued else ""
    out.update(_level_fields(decided.level))
    out["status"] = "chính thức"
    out["notice"] = (f"Thông báo: theo Quyết định {number}ngày {_day(d.decided_at)} của {agency.name}, kết quả xếp "
                     f"loại năm {year} của ông/bà là {LEVEL_LABELS.get(decided.level or '', 'chưa xếp loại')}. "
                     f"Ông/bà có quyền khiếu nại đến hết ngày {_day(d.appeal_until)}.")
    return out


def check_agency(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("Unit not found.")
    if unit.kind not in AGENCY_KINDS:
        raise Invalid("Decisions are made per agency.",
                      {"unit_id": ["Choose an agency, commune or ward, not a department."]})
    return unit


def deciding_person(agency: OrgUnit, on: date) -> Employee | None:
    """Who decides the classification of the agency's staff: its head — a leader placed in
    the agency unit itself whose own manager is not in that unit (the deputies report to
    the head). The procedure may name another; this is the default."""
    leaders = list(db.session.scalars(
        select(Employee).where(Employee.unit_id == agency.id, Employee.is_leader.is_(True),
                               (Employee.end_date.is_(None)) | (Employee.end_date >= on)).order_by(Employee.id)))
    ids = {e.id for e in leaders}
    heads = [e for e in leaders if e.manager_id not in ids]
    return (heads or leaders or [None])[0]


def decision_rows(agency: OrgUnit, year: int) -> list[dict[str, str]]:
    """The agency's list: everyone whose quota was counted in the agency, by unit, then by
    given name in Vietnamese order."""
    rows = db.session.execute(
        select(EmployeeClassification, Employee, OrgUnit.name)
        .join(Employee, Employee.id == EmployeeClassification.employee_id)
        .join(OrgUnit, OrgUnit.id == EmployeeClassification.unit_id)
        .where(EmployeeClassification.year == year, EmployeeClassification.quota_group.like(f"{agency.id}:%"))).all()
    rows.sort(key=lambda r: (vi_key(r[2]), name_key(r[1].full_name), r[1].id))
    return [{"no": str(i), "employee_id": e.id, "name": e.full_name, "code": e.code,
             "position": e.position.name if e.position else "", "unit": unit_name, "total": _num(c.total),
             **_level_fields(c.level)} for i, (c, e, unit_name) in enumerate(rows, start=1)]


def content_hash(rows: list[dict[str, Any]]) -> str:
    """The list's fingerprint: who and which level (a changed level changes it)."""
    return hashlib.sha256(json.dumps([[r["employee_id"], r["level"]] for r in rows]).encode()).hexdigest()


def procedure_decision(agency: OrgUnit, year: int, scope: str) -> EvaluationDecision | None:
    """The procedure's decision in force for the agency, year and scope; None when the agency
    does not run the procedure that year (the draft classification is printed then). An
    agency under the procedure that has not decided has no decision to print: 409."""
    if db.session.scalar(select(AgencyEvaluation.id).where(AgencyEvaluation.year == year,
                                                           AgencyEvaluation.agency_id == agency.id)) is None:
        return None
    d = db.session.scalar(select(EvaluationDecision).where(
        EvaluationDecision.year == year, EvaluationDecision.agency_id == agency.id,
        EvaluationDecision.scope == scope, EvaluationDecision.status == "decided"))
    if d is None:
        raise Conflict("The agency has not decided this classification yet.",
                       {"year": ["Decide it on the evaluation page first."]}, code="not_decided")
    return d


def procedure_rows(d: EvaluationDecision) -> list[dict[str, Any]]:
    """The decision's list: the people it decided with the level in force (an upheld appeal
    changes it), by unit, then by given name. One query."""
    ids = [int(k) for k in d.levels]
    if not ids:
        return []
    rows = db.session.execute(
        select(EvaluationStep.level, Employee.id, Employee.full_name, Employee.code, JobPosition.name, OrgUnit.name,
               EmployeeClassification.total)
        .join(Employee, Employee.id == EvaluationStep.employee_id)
        .outerjoin(JobPosition, JobPosition.id == Employee.position_id)
        .join(EmployeeClassification, (EmployeeClassification.employee_id == EvaluationStep.employee_id)
              & (EmployeeClassification.year == EvaluationStep.year))
        .join(OrgUnit, OrgUnit.id == EmployeeClassification.unit_id)
        .where(EvaluationStep.year == d.year, EvaluationStep.step == "decision",
               EvaluationStep.agency_id == d.agency_id, EvaluationStep.employee_id.in_(ids),
               EvaluationStep.level.is_not(None))).all()
    rows.sort(key=lambda r: (vi_key(r[5]), name_key(r[2]), r[1]))
    return [{"no": str(i), "employee_id": eid, "name": name, "code": code, "position": position or "", "unit": unit,
             "total": _num(total), **_level_fields(level)}
            for i, (level, eid, name, code, position, unit, total) in enumerate(rows, start=1)]


def procedure_decider(d: EvaluationDecision) -> Employee | None:
    """The staff record of the person who took the decision step (decisions made before it
    was recorded on the decision: the step's actor); none for a configured signatory."""
    decider_id = d.decider_id
    if decider_id is None and d.decider_name is None:
        decider_id = db.session.scalar(select(EvaluationStep.actor_employee_id).where(
            EvaluationStep.year == d.year, EvaluationStep.agency_id == d.agency_id,
            EvaluationStep.step == "decision", EvaluationStep.at == d.decided_at).limit(1))
    return db.session.get(Employee, decider_id) if decider_id is not None else None


def decision(tenant_name: str, agency: OrgUnit, year: int, day: date, number: str | None,
             extra: dict[str, Any] | None = None, scope: str = "staff") -> dict[str, Any]:
    """The agency head's decision approving the classification of its staff for the year,
    with the list attached (Decree 30, Annex III: a decision with an attached list). Under
    the evaluation procedure it is printed from the decision taken: its list, its date, the
    person who decided."""
    made = procedure_decision(agency, year, scope)
    if made is not None:
        return _procedure_decision_ctx(tenant_name, agency, made, number, extra)
    rows = decision_rows(agency, year)
    if not rows:
        raise NotFound("The agency has no classification for that year.",
                       {"year": [f"No classification of {year} in this agency."]})
    decider = deciding_person(agency, day)
    counts = {level: sum(1 for r in rows if r["level"] == level) for level in LEVELS}
    ctx = {**header(tenant_name, agency, day, number, "QĐ"),
           "title": "QUYẾT ĐỊNH",
           "subject": f"Về việc phê duyệt kết quả đánh giá, xếp loại chất lượng công chức, viên chức năm {year}",
           "year": str(year), "rows": rows, "count": str(len(rows)),
           "counts": [{"level": lv, "label": LEVEL_LABELS[lv], "count": str(counts[lv])} for lv in LEVELS],
           "decider_name": decider.full_name if decider else "",
           "decider_title": (decider.position.name if decider and decider.position else "Thủ trưởng cơ quan").upper(),
           "decider_id": decider.id if decider else None, "content_hash": content_hash(rows), "decision_id": None}
    ctx.update(extra or {})
    return ctx


def _procedure_decision_ctx(tenant_name: str, agency: OrgUnit, d: EvaluationDecision, number: str | None,
                            extra: dict[str, Any] | None) -> dict[str, Any]:
    rows = procedure_rows(d)
    if not rows:
        raise NotFound("The decision classifies nobody.", {"year": ["Nobody in this decision has a level."]})
    decider = procedure_decider(d)
    counts = {level: sum(1 for r in rows if r["level"] == level) for level in LEVELS}
    whom = "người đứng đầu, cấp phó của người đứng đầu" if d.scope == "leaders" else "công chức, viên chức"
    title = d.decider_title or (decider.position.name if decider and decider.position else
                                ("Chủ tịch Ủy ban nhân dân" if d.scope == "leaders" else "Thủ trưởng cơ quan"))
    name = d.decider_name or (decider.full_name if decider else "")
    ctx = {**header(tenant_name, agency, cal.local_date(d.decided_at, cal.current_tenant()), number, "QĐ"),
           "title": "QUYẾT ĐỊNH",
           "subject": f"Về việc phê duyệt kết quả đánh giá, xếp loại chất lượng {whom} năm {d.year}",
           "year": str(d.year), "rows": rows, "count": str(len(rows)),
           "counts": [{"level": lv, "label": LEVEL_LABELS[lv], "count": str(counts[lv])} for lv in LEVELS],
           "decider_name": name, "decider_title": title.upper(),
           "decider_id": decider.id if decider else None, "content_hash": content_hash(rows), "decision_id": d.id}
    ctx.update(extra or {})
    return ctx
