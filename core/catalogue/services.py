"""The task catalogue and the competency framework: validation, writes, reads.

Every write is audited in the caller's transaction; a failed check raises before
anything is written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, delete, func, select
from sqlalchemy.orm import lazyload

from core.audit.services import record
from core.auth.normalize import D_LETTERS
from core.catalogue.models import (
    BEGINNING,
    DEFAULT_MAX_QUANTITY,
    Competency,
    NormVersion,
    PositionCompetency,
    TaskType,
    TaskTypePosition,
)
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.org.models import Employee, JobPosition
from core.tenancy.mixin import in_tenant

NORM_FIELDS = ("norm_minutes", "product_weight", "complexity_levels")


def fold(text: str) -> str:
    """Lower-case text without Vietnamese diacritics, so "ho tich" finds "Hộ tịch"."""
    text = text.translate(D_LETTERS)  # đ and the eth ð that stands in for it (core/auth/normalize.py)
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


# ---------------------------------------------------------------- norms


def norms_in_force(task_type_ids: Iterable[int], on: date) -> dict[int, NormVersion]:
    """The norm version in force on `on` for each task type (one query for them all)."""
    ids = list(set(task_type_ids))
    if not ids:
        return {}
    latest = (select(NormVersion.task_type_id, func.max(NormVersion.effective_from).label("eff"))
              .where(NormVersion.task_type_id.in_(ids), NormVersion.effective_from <= on)
              .group_by(NormVersion.task_type_id).subquery())
    rows = db.session.scalars(select(NormVersion).join(
        latest, (NormVersion.task_type_id == latest.c.task_type_id) & (NormVersion.effective_from == latest.c.eff)))
    return {v.task_type_id: v for v in rows}


def norm_in_force(task_type_id: int, on: date) -> NormVersion | None:
    return norms_in_force([task_type_id], on).get(task_type_id)


def declaration_of(row) -> tuple[TaskType | None, NormVersion | None, bool]:
    """(task type, norm, applies) from a row of `declaration_statement` (None: no such code)."""
    if row is None:
        return None, None, False
    return row.TaskType, row.NormVersion, (not row.restricted) or bool(row.mine)


@lru_cache(maxsize=2)
def declaration_statement(explicit_tenant: bool = False) -> Select:
    """The statement that resolves a declared task code (parameters code, on, employee_id), built
    once: constructing it cost more than running it. Tenant-scoped like any ORM statement
    (the filter is added at execution); a caller may add columns of its own. With
    `explicit_tenant`, every table it reads is restricted to the tenant `tid` in the
    statement itself (core/tenancy/mixin.py `in_tenant`: the caller runs it unscoped)."""
    def own(model) -> tuple:
        return (in_tenant(model),) if explicit_tenant else ()

    restricted = select(TaskTypePosition.id).where(TaskTypePosition.task_type_id == TaskType.id,
                                                   *own(TaskTypePosition)).exists()
    position = select(Employee.position_id).where(Employee.id == bindparam("employee_id"),
                                                  *own(Employee)).scalar_subquery()
    mine = select(TaskTypePosition.id).where(TaskTypePosition.task_type_id == TaskType.id,
                                             TaskTypePosition.position_id == position, *own(TaskTypePosition)).exists()
    return (select(TaskType, NormVersion, restricted.label("restricted"), mine.label("mine"))
            .outerjoin(NormVersion, and_((NormVersion.task_type_id == TaskType.id),
                                         (NormVersion.effective_from <= bindparam("on")), *own(NormVersion)))
            .where(TaskType.code == bindparam("code"), *own(TaskType))
            .order_by(NormVersion.effective_from.desc()).limit(1)
            .options(lazyload(TaskType.positions)))  # applicability is answered above


def coefficient_for(version: NormVersion, level: int | None) -> tuple[int | None, Decimal]:
    """The (level, coefficient) an item gets; Invalid for a level the norm does not have.

    With no level given: the level whose coefficient is 1 (the standard case), else the
    lowest level; a norm without levels has coefficient 1.
    """
    levels = {int(x["level"]): Decimal(str(x["coefficient"])) for x in version.complexity_levels or []}
    if not levels:
        if level is not None:
            raise Invalid("This task type has no complexity levels.",
                          {"complexity_level": ["This task type has no complexity levels."]})
        return None, Decimal("1")
    if level is None:
        level = next((lv for lv, c in sorted(levels.items()) if c == 1), min(levels))
    if level not in levels:
        raise Invalid("Unknown complexity level.",
                      {"complexity_level": [f"Use one of {sorted(levels)}."]})
    return level, levels[level]


# ---------------------------------------------------------------- task types


def task_type_view(tt: TaskType, version: NormVersion | None) -> dict:
    return {
        "id": tt.id, "code": tt.code, "name": tt.name, "group": tt.group, "unit_of_measure": tt.unit_of_measure,
        "norm_minutes": float(version.norm_minutes) if version else None,
        "product_weight": float(version.product_weight) if version else None,
        "complexity_levels": [{"level": int(x["level"]), "coefficient": float(x["coefficient"])}
                              for x in (version.complexity_levels if version else [])],
        "position_codes": sorted(p.position.code for p in tt.positions),
        "effective_from": None if version is None or version.effective_from == BEGINNING else version.effective_from,
        "norm_version_id": version.id if version else None,
        "max_quantity": float(tt.max_quantity if tt.max_quantity is not None else DEFAULT_MAX_QUANTITY),
    }


def version_view(v: NormVersion) -> dict:
    return {"id": v.id, "effective_from": None if v.effective_from == BEGINNING else v.effective_from,
            "norm_minutes": float(v.norm_minutes), "product_weight": float(v.product_weight),
            "complexity_levels": v.complexity_levels}


def get_task_type(task_type_id: int) -> TaskType:
    tt = db.session.get(TaskType, task_type_id)
    if tt is None:
        raise NotFound("Task type not found.")
    return tt


def task_type_by_code(code: str) -> TaskType | None:
    return db.session.scalar(select(TaskType).where(TaskType.code == code))


def _positions_by_code(codes: list[str]) -> list[JobPosition]:
    codes = list(dict.fromkeys(codes))
    found = {p.code: p for p in db.session.scalars(select(JobPosition).where(JobPosition.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise Invalid("Unknown position codes.", {"position_codes": [f"No such position: {', '.join(unknown)}."]})
    return [found[c] for c in codes]


def _normalise_levels(levels: list[dict]) -> list[dict]:
    seen: set[int] = set()
    out = []
    for entry in levels:
        level = int(entry["level"])
        if level in seen:
            raise Invalid("Duplicate complexity level.", {"complexity_levels": [f"Level {level} is given twice."]})
        seen.add(level)
        out.append({"level": level, "coefficient": float(entry["coefficient"])})
    return sorted(out, key=lambda x: x["level"])


def _set_version(tt: TaskType, effective_from: date, data: dict, base: NormVersion | None) -> NormVersion:
    """Create the version starting `effective_from`, or change the one that already starts then."""
    version = db.session.scalar(select(NormVersion).where(
        NormVersion.task_type_id == tt.id, NormVersion.effective_from == effective_from))
    if version is None:
        version = NormVersion(task_type_id=tt.id, effective_from=effective_from)
        if base is not None:  # fields not given carry over from the norm they follow
            version.norm_minutes, version.product_weight = base.norm_minutes, base.product_weight
            version.complexity_levels = list(base.complexity_levels or [])
        db.session.add(version)
    if "norm_minutes" in data:
        version.norm_minutes = Decimal(str(data["norm_minutes"]))
    if "product_weight" in data:
        version.product_weight = Decimal(str(data["product_weight"]))
    if "complexity_levels" in data:
        version.complexity_levels = _normalise_levels(data["complexity_levels"])
    if version.norm_minutes is None:
        raise Invalid("A norm needs its minutes per unit.", {"norm_minutes": ["Required."]})
    if version.product_weight is None:
        version.product_weight = Decimal("1")
    if version.complexity_levels is None:
        version.complexity_levels = []
    return version


def create_task_type(data: dict) -> tuple[TaskType, NormVersion]:
    if task_type_by_code(data["code"]) is not None:
        raise Conflict("Duplicate task type code.", {"code": ["A task type with this code exists."]})
    positions = _positions_by_code(data.get("position_codes") or [])
    tt = TaskType(code=data["code"], name=data["name"], group=data["group"],
                  unit_of_measure=data["unit_of_measure"], search_text=fold(f"{data['code']} {data['name']}"),
                  max_quantity=Decimal(str(data.get("max_quantity") or DEFAULT_MAX_QUANTITY)))
    tt.positions = [TaskTypePosition(position_id=p.id, position=p) for p in positions]
    db.session.add(tt)
    db.session.flush()
    version = _set_version(tt, data.get("effective_from") or BEGINNING, data, None)
    db.session.flush()
    record("task_type.create", "task_type", tt.id, after=task_type_view(tt, version))
    return tt, version


def update_task_type(tt: TaskType, data: dict, today: date) -> tuple[TaskType, NormVersion | None]:
    """Change a task type. Norm fields make (or change) the version starting at
    `effective_from` (default: today), so items of earlier dates keep their norm."""
    before_version = norm_in_force(tt.id, data.get("effective_from") or today)
    before = task_type_view(tt, before_version)
    if "code" in data and data["code"] != tt.code and task_type_by_code(data["code"]) is not None:
        raise Conflict("Duplicate task type code.", {"code": ["A task type with this code exists."]})
    if "position_codes" in data:
        positions = _positions_by_code(data["position_codes"])
        wanted = {p.id for p in positions}
        tt.positions = [tp for tp in tt.positions if tp.position_id in wanted] + [
            TaskTypePosition(position_id=p.id, position=p) for p in positions
            if p.id not in {tp.position_id for tp in tt.positions}]
    for key in ("code", "name", "group", "unit_of_measure"):
        if key in data:
            setattr(tt, key, data[key])
    if "max_quantity" in data:
        tt.max_quantity = Decimal(str(data["max_quantity"]))
    tt.search_text = fold(f"{tt.code} {tt.name}")
    version = before_version
    if any(key in data for key in NORM_FIELDS) or "effective_from" in data:
        version = _set_version(tt, data.get("effective_from") or today, data, before_version)
    db.session.flush()
    record("task_type.update", "task_type", tt.id, before=before, after=task_type_view(tt, version))
    return tt, version


def delete_task_type(tt: TaskType) -> None:
    from core.work.models import WorkItem

    if db.session.scalar(select(WorkItem.id).where(WorkItem.task_type_id == tt.id).limit(1)) is not None:
        raise Conflict("The task type is used by work items.", {"id": ["Work items refer to it."]})
    record("task_type.delete", "task_type", tt.id, before=task_type_view(tt, None))
    # Explicitly: SQLite may run without foreign-key cascades.
    db.session.execute(delete(NormVersion).where(NormVersion.task_type_id == tt.id))
    db.session.delete(tt)
    db.session.flush()


def task_type_versions(tt: TaskType) -> list[NormVersion]:
    return list(db.session.scalars(
        select(NormVersion).where(NormVersion.task_type_id == tt.id).order_by(NormVersion.effective_from)))


def task_types_query(position_id: int | None = None, q: str | None = None, group: str | None = None) -> Select:
    """Task types, optionally those of a position (types with no positions apply to all)
    and those whose code or name matches `q` with or without diacritics."""
    stmt = select(TaskType).order_by(TaskType.group, TaskType.code)
    if position_id is not None:
        anywhere = ~select(TaskTypePosition.id).where(TaskTypePosition.task_type_id == TaskType.id).exists()
        mine = select(TaskTypePosition.id).where(TaskTypePosition.task_type_id == TaskType.id,
                                                 TaskTypePosition.position_id == position_id).exists()
        stmt = stmt.where(anywhere | mine)
    if q:
        for word in fold(q).split():
            stmt = stmt.where(TaskType.search_text.contains(word, autoescape=True))
    if group:
        stmt = stmt.where(TaskType.group == group)
    return stmt


# ---------------------------------------------------------------- competencies


def competency_view(c: Competency) -> dict:
    return {"id": c.id, "code": c.code, "name": c.name, "description": c.description, "max_level": c.max_level}


def get_competency(competency_id: int) -> Competency:
    c = db.session.get(Competency, competency_id)
    if c is None:
        raise NotFound("Competency not found.")
    return c


def create_competency(data: dict) -> Competency:
    if db.session.scalar(select(Competency.id).where(Competency.code == data["code"])) is not None:
        raise Conflict("Duplicate competency code.", {"code": ["A competency with this code exists."]})
    c = Competency(**data)
    db.session.add(c)
    db.session.flush()
    record("competency.create", "competency", c.id, after=competency_view(c))
    return c


def update_competency(c: Competency, data: dict) -> Competency:
    before = competency_view(c)
    if "code" in data and data["code"] != c.code and db.session.scalar(
            select(Competency.id).where(Competency.code == data["code"])) is not None:
        raise Conflict("Duplicate competency code.", {"code": ["A competency with this code exists."]})
    if "max_level" in data and db.session.scalar(select(PositionCompetency.id).where(
            PositionCompetency.competency_id == c.id, PositionCompetency.required_level > data["max_level"]).limit(1)):
        raise Conflict("A position requires a higher level.", {"max_level": ["Lower the positions' levels first."]})
    for key, value in data.items():
        setattr(c, key, value)
    db.session.flush()
    record("competency.update", "competency", c.id, before=before, after=competency_view(c))
    return c


def delete_competency(c: Competency) -> None:
    if db.session.scalar(select(PositionCompetency.id).where(PositionCompetency.competency_id == c.id).limit(1)):
        raise Conflict("The competency is required by positions.", {"id": ["Positions require it."]})
    record("competency.delete", "competency", c.id, before=competency_view(c))
    db.session.delete(c)
    db.session.flush()


def position_requirements(position_id: int) -> list[dict]:
    rows = db.session.scalars(select(PositionCompetency).where(PositionCompetency.position_id == position_id)
                              .order_by(PositionCompetency.competency_id))
    return [{"competency_code": r.competency.code, "competency_name": r.competency.name,
             "required_level": r.required_level} for r in rows]


def set_position_requirements(position: JobPosition, requirements: list[dict]) -> list[dict]:
    """Replace what a position requires: [{"competency_code", "required_level"}]."""
    codes = [r["competency_code"] for r in requirements]
    if len(set(codes)) != len(codes):
        raise Invalid("A competency is listed twice.", {"requirements": ["List each competency once."]})
    found = {c.code: c for c in db.session.scalars(select(Competency).where(Competency.code.in_(codes)))}
    errors = {}
    for i, r in enumerate(requirements):
        c = found.get(r["competency_code"])
        if c is None:
            errors[str(i)] = {"competency_code": ["No such competency."]}
        elif r["required_level"] > c.max_level:
            errors[str(i)] = {"required_level": [f"At most {c.max_level}."]}
    if errors:
        raise Invalid("Some requirements are invalid.", {"requirements": errors})
    before = position_requirements(position.id)
    existing = {r.competency_id: r for r in db.session.scalars(
        select(PositionCompetency).where(PositionCompetency.position_id == position.id))}
    wanted = {found[r["competency_code"]].id: r["required_level"] for r in requirements}
    for cid, row in existing.items():
        if cid not in wanted:
            db.session.delete(row)
    for cid, level in wanted.items():
        row = existing.get(cid)
        if row is None:
            db.session.add(PositionCompetency(position_id=position.id, competency_id=cid, required_level=level))
        else:
            row.required_level = level
    db.session.flush()
    after = position_requirements(position.id)
    record("position.competencies", "position", position.id, before={"requirements": before},
           after={"requirements": after})
    return after


def competencies_query() -> Select:
    return select(Competency).order_by(Competency.code)


def all_competencies() -> list[Competency]:
    return list(db.session.scalars(competencies_query()))


def task_type_count() -> int:
    return db.session.scalar(select(func.count()).select_from(TaskType)) or 0


def requirements_by_position() -> dict[str, list[dict]]:
    """{position code: [{competency_code, required_level}, …]}, codes in order: the
    competency framework at a glance."""
    out: dict[str, list[dict]] = {}
    rows = db.session.execute(
        select(JobPosition.code, Competency.code, PositionCompetency.required_level)
        .join(JobPosition, JobPosition.id == PositionCompetency.position_id)
        .join(Competency, Competency.id == PositionCompetency.competency_id)
        .order_by(JobPosition.code, Competency.code)).all()
    for position_code, competency_code, level in rows:
        out.setdefault(position_code, []).append({"competency_code": competency_code, "required_level": level})
    return out
