"""Merging a tenant into another (a province into a province), set-based.

The plan (a dry run) and the commit share one function: the plan checks the mapping and
every conflict and counts what would move; the commit runs only on a plan without
conflicts, in one transaction:

1. a full export of the source (export.py) — the way back — written by a second
   connection from the commit's own snapshot while the rows move;
2. catalogue entries mapped onto the target's (by code) are replaced, in every column
   that refers to them, by one `UPDATE … SET col = CASE … END` per table and column;
   the others move with the source (positions, task types, competencies get the
   mapping's prefix on their code; units keep theirs — duplicates are conflicts);
3. one `UPDATE <table> SET tenant_id = target WHERE tenant_id = source` per tenant
   table — never a loop over rows. Ids are global, so every foreign key stays valid
   and every score row keeps its values (scores before the date stay as computed);
4. the source becomes `merged` (read-only: its pages redirect, its API answers 409).

What stays with the source, as its record: its audit chain (append-only: the app may
not UPDATE audit rows, and moving them would break both hash chains; the source chain
is closed with a `tenant.merged` event whose hash is anchored in the target's chain by a
`tenant.merge` event, and `congvu audit verify` checks both), its component choices,
work settings and calendar days (the target's govern from now on), and its closed or
scored periods and classification years that the target has too (the target's row
governs). Re-running a merge that is done is a no-op.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import BigInteger, Table, and_, case, delete, exists, func, literal, not_, select, update

from core import unit_of_work
from core.audit.models import AuditEvent
from core.audit.services import record
from core.errors import Conflict, Invalid, NotFound
from core.extensions import db
from core.mergers.export import start_export
from core.mergers.models import TenantMerge
from core.scoring.sides import id_ranges
from core.tenancy import tenant_context, tenant_tables, unscoped
from core.tenants.models import Tenant
from core.work.closed_guard import writing_closed_months

# Clashes listed per kind: enough to act on, bounded so a report stays readable.
DUPLICATES_LISTED = 200
# Tenant-level settings: the target's govern; the source keeps its own as its record.
# A tenant's own document templates and issued decisions stay with it (its letterhead, its signatures),
# and so does its single sign-on (the target's provider signs the merged people in).
STAYS = ("audit_events", "component_choices", "work_settings", "calendar_days", "document_templates", "issued_decisions",
         "sso_configs")
# One row per period or year: moved unless the target has the same one.
PER_PERIOD = {"closed_periods": "period", "scored_periods": "period", "classification_years": "year"}
# One row per key: moved unless the target has the same one (a scoring stamp's words).
PER_KEY = {"scoring_stamps": ("variant_key", "variant_version", "settings_hash")}
# Catalogue kinds the mapping names: table, and the prefix rule for entries that move.
CATALOGUE = {"units": "org_units", "positions": "job_positions", "task_types": "task_types"}
# Rows that belong to a catalogue entry and stay with it when it is mapped away.
OWNED_BY = {"norm_versions": ("task_type_id", "task_types"),
            "task_type_positions": ("task_type_id", "task_types"),
            "position_competencies": ("position_id", "job_positions")}


@dataclass
class Mapping:
    units: dict[str, str | None] = field(default_factory=dict)
    positions: dict[str, str | None] = field(default_factory=dict)
    task_types: dict[str, str | None] = field(default_factory=dict)
    prefix: str = ""

    def of(self, kind: str) -> dict[str, str | None]:
        return getattr(self, kind)


def parse_mapping(data: dict | None, source_slug: str) -> Mapping:
    """The mapping file or body: {"units"|"positions"|"task_types": {src: dst|null}, "prefix"}."""
    data = data or {}
    if not isinstance(data, dict):
        raise Invalid("The mapping must be an object.", {"mapping": ["Not an object."]})
    errors: dict[str, list[str]] = {}
    out = Mapping(prefix=str(data.get("prefix", f"{source_slug.upper()}-")))
    for kind in CATALOGUE:
        entries = data.get(kind, {})
        if not isinstance(entries, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in entries.items()):
            errors[f"mapping.{kind}"] = ["An object of source code to target code or null."]
            continue
        setattr(out, kind, dict(entries))
    unknown = sorted(set(data) - set(CATALOGUE) - {"prefix"})
    if unknown:
        errors["mapping"] = [f"Unknown keys: {', '.join(unknown)}."]
    if len(out.prefix) > 16:
        errors["mapping.prefix"] = ["At most 16 characters."]
    if errors:
        raise Invalid("The mapping is invalid.", errors)
    return out


def _tenant(slug: str, what: str) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"No tenant '{slug}'.", {what: [f"No tenant '{slug}'."]})
    return tenant


def _table(name: str) -> Table:
    return db.metadata.tables[name]


def _codes(table: Table, tenant_id: int) -> dict[str, int]:
    return dict(db.session.execute(select(table.c.code, table.c.id).where(table.c.tenant_id == tenant_id)).all())


# ---------------------------------------------------------------- the plan


@dataclass
class Plan:
    source: Tenant
    target: Tenant
    effective: date
    mapping: Mapping
    counts: dict[str, int] = field(default_factory=dict)
    conflicts: list[dict] = field(default_factory=list)
    id_maps: dict[str, dict[int, int]] = field(default_factory=dict)  # table -> {source id: target id}
    renames: dict[str, dict[int, str]] = field(default_factory=dict)  # table -> {id: new code}
    suggested: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def conflict(self, kind: str, message: str, **detail) -> None:
        self.conflicts.append({"kind": kind, "message": message, **detail})

    def view(self) -> dict:
        return {"source": self.source.slug, "into": self.target.slug, "effective_date": self.effective.isoformat(),
                "counts": self.counts, "conflicts": self.conflicts,
                "catalogue": {kind: {"mapped": len(self.id_maps.get(table, {})),
                                     "moved": self.counts.get(table, 0)} for kind, table in CATALOGUE.items()},
                "suggested_mapping": self.suggested}


def make_plan(source: Tenant, target: Tenant, effective: date, mapping: Mapping, count: bool = True) -> Plan:
    """The plan; without `count` the rows that would move are not counted (the commit
    takes the counts from its own UPDATEs instead of scanning every table twice)."""
    plan = Plan(source, target, effective, mapping)
    with unscoped():
        for kind, table_name in CATALOGUE.items():
            _plan_catalogue(plan, kind, _table(table_name))
        _plan_competencies(plan)
        _plan_link_clashes(plan)
        _duplicates(plan, "employees", "code", "duplicate_employee_code", "Employee code {} exists in both tenants.")
        _duplicates(plan, "users", "username", "duplicate_username",
                    "Username {} exists in both tenants; rename one before merging.")
        _duplicates(plan, "work_items", "external_id", "duplicate_external_id",
                    "Imported work item key {} exists in both tenants.")
        if count:
            _count(plan)
    return plan


def _plan_catalogue(plan: Plan, kind: str, table: Table) -> None:
    source_codes, target_codes = _codes(table, plan.source.id), _codes(table, plan.target.id)
    given = plan.mapping.of(kind)
    plan.suggested[kind] = {code: (code if code in target_codes else None) for code in sorted(source_codes)}
    id_map: dict[int, int] = {}
    renames: dict[int, str] = {}
    for code, src_id in sorted(source_codes.items()):
        if code not in given:
            plan.conflict("unmapped", f"{kind}: {code} is not in the mapping (map it to a target code or null).",
                          catalogue=kind, code=code)
            continue
        dst = given[code]
        if dst is not None:
            if dst not in target_codes:
                plan.conflict("unknown_target", f"{kind}: {code} is mapped to {dst}, which the target does not have.",
                              catalogue=kind, code=code, target_code=dst)
            else:
                id_map[src_id] = target_codes[dst]
            continue
        new_code = code if kind == "units" else f"{plan.mapping.prefix}{code}"
        if new_code in target_codes:
            plan.conflict("duplicate_unit_code" if kind == "units" else "duplicate_code",
                          f"{kind}: {new_code} exists in the target; map {code} onto it or change the prefix.",
                          catalogue=kind, code=code)
        if new_code != code:
            renames[src_id] = new_code
    for code in sorted(set(given) - set(source_codes)):
        plan.conflict("unknown_source", f"{kind}: the mapping names {code}, which the source does not have.",
                      catalogue=kind, code=code)
    plan.id_maps[table.name], plan.renames[table.name] = id_map, renames


def _plan_competencies(plan: Plan) -> None:
    # Not in the mapping (api.md): the same code is the same competency; others move, prefixed.
    table = _table("competencies")
    source_codes, target_codes = _codes(table, plan.source.id), _codes(table, plan.target.id)
    plan.id_maps["competencies"] = {i: target_codes[c] for c, i in source_codes.items() if c in target_codes}
    plan.renames["competencies"] = {i: f"{plan.mapping.prefix}{c}" for c, i in source_codes.items()
                                    if c not in target_codes}
    for new_code in plan.renames["competencies"].values():
        if new_code in target_codes:
            plan.conflict("duplicate_code", f"competencies: {new_code} exists in the target.", catalogue="competencies",
                          code=new_code)


def _plan_link_clashes(plan: Plan) -> None:
    """A moved task type linked to two positions mapped onto the same target position
    would hold that link twice (a unique key); say so instead of failing mid-commit."""
    position_map = plan.id_maps.get("job_positions")
    if not position_map:
        return
    links = _table("task_type_positions")
    types = _table("task_types")
    mapped_types = list(plan.id_maps.get("task_types", {}))
    rows = db.session.execute(
        select(types.c.code, links.c.position_id).join(types, types.c.id == links.c.task_type_id)
        .where(links.c.tenant_id == plan.source.id, links.c.task_type_id.not_in(mapped_types))).all()
    seen: dict[tuple[str, int], int] = {}
    for code, position_id in rows:
        key = (code, position_map.get(position_id, position_id))
        seen[key] = seen.get(key, 0) + 1
    for (code, _), n in sorted(seen.items()):
        if n > 1:
            plan.conflict("duplicate_link", f"task_types: {code} applies to {n} positions mapped onto the same "
                                            "target position; map them apart.", catalogue="task_types", code=code)


def _duplicates(plan: Plan, table_name: str, column: str, kind: str, message: str) -> None:
    table = _table(table_name)
    if table_name in ("users", "employees"):
        _duplicates_in_memory(plan, table, column, kind, message)
        return
    other = table.alias("other")
    key = (func.lower(table.c[column]), func.lower(other.c[column])) if column == "username" else \
        (table.c[column], other.c[column])
    values = db.session.scalars(
        select(table.c[column]).join(other, key[0] == key[1])
        .where(table.c.tenant_id == plan.source.id, other.c.tenant_id == plan.target.id,
               table.c[column].is_not(None)).order_by(table.c[column]).limit(DUPLICATES_LISTED)).all()
    for value in values:
        plan.conflict(kind, message.format(value), value=value)
    if len(values) == DUPLICATES_LISTED:
        plan.conflict(kind, f"… and possibly more {table_name}.{column} clashes (the first {DUPLICATES_LISTED} "
                            "are listed); fix these and run the dry run again.")


def _duplicates_in_memory(plan: Plan, table: Table, column: str, kind: str, message: str) -> None:
    """Login names and employee codes of both tenants (tens of thousands at most) compared
    in memory: the planner, misled by the row-security condition, ran the join as a nested
    loop — 10 million comparisons for 10,000 people against 1,000."""
    fold = str.lower if column == "username" else (lambda v: v)

    def values(tenant_id: int) -> list[str]:
        return list(db.session.scalars(select(table.c[column]).where(table.c.tenant_id == tenant_id,
                                                                     table.c[column].is_not(None))))

    theirs = {fold(v) for v in values(plan.target.id)}
    clashes = sorted(v for v in values(plan.source.id) if fold(v) in theirs)
    for value in clashes[:DUPLICATES_LISTED]:
        plan.conflict(kind, message.format(value), value=value)
    if len(clashes) > DUPLICATES_LISTED:
        plan.conflict(kind, f"… and {len(clashes) - DUPLICATES_LISTED} more {table.name}.{column} clashes (the first "
                            f"{DUPLICATES_LISTED} are listed); fix these and run the dry run again.")


def _moving(plan: Plan, table: Table):
    """The WHERE clause of the source rows of `table` that move to the target."""
    clause = table.c.tenant_id == plan.source.id
    mapped = plan.id_maps.get(table.name)
    if mapped:
        clause = and_(clause, table.c.id.not_in(list(mapped)))
    if table.name in OWNED_BY:
        column, owner = OWNED_BY[table.name]
        if plan.id_maps.get(owner):
            clause = and_(clause, table.c[column].not_in(list(plan.id_maps[owner])))
    if table.name in PER_PERIOD:
        key = table.c[PER_PERIOD[table.name]]
        clause = and_(clause, not_(key.in_(select(key).where(table.c.tenant_id == plan.target.id).scalar_subquery())))
    if table.name in PER_KEY:
        theirs = table.alias("target_rows")
        clause = and_(clause, not_(exists().where(theirs.c.tenant_id == plan.target.id,
                                                  *(theirs.c[c] == table.c[c] for c in PER_KEY[table.name]))))
    return clause


def _movable_tables() -> list[Table]:
    names = set(tenant_tables(db.metadata)) - set(STAYS)
    return [t for t in db.metadata.sorted_tables if t.name in names]


def _count(plan: Plan) -> None:
    for table in _movable_tables():
        plan.counts[table.name] = db.session.scalar(
            select(func.count()).select_from(table).where(_moving(plan, table))) or 0


# ---------------------------------------------------------------- the commit


def merge(source_slug: str, target_slug: str, effective: date, mapping_data: dict | None,
          dry_run: bool = False, progress=None) -> dict:
    """Plan (dry run) or commit a merger in the caller's transaction; the caller commits.
    Conflict (409) with the full report when anything blocks the commit."""
    progress = progress or (lambda done, total, stage=None: None)
    with unscoped():
        source, target = _tenant(source_slug, "source"), _tenant(target_slug, "into")
        if source.id == target.id:
            raise Invalid("A tenant cannot merge into itself.", {"into": ["Same as the source."]})
        if source.status == "merged":
            if source.merged_into_id == target.id:
                return {"source": source.slug, "into": target.slug, "already_merged": True, "moved": {},
                        "conflicts": [], "dry_run": dry_run}
            raise Conflict(f"{source.slug} is already merged into another tenant.", {"source": ["Already merged."]})
        if target.status != "active" or source.status != "active":
            raise Conflict("Both tenants must be active.", {"into": [f"The target is {target.status}."]})
        mapping = parse_mapping(mapping_data, source.slug)
        progress(0, 3, "plan")
        plan = make_plan(source, target, effective, mapping, count=dry_run)
        if plan.conflicts and not dry_run:
            _count(plan)  # the blocked commit's report says what would have moved
        view = {**plan.view(), "dry_run": dry_run, "already_merged": False}
        if dry_run:
            return view
        if plan.conflicts:
            raise MergeBlocked(view)
        from core.scoring.locks import lock_tenants_scoring

        lock_tenants_scoring([source.id, target.id])  # no refresh of either tenant beside the move
        progress(1, 3, "export and move")
        moved, stale = _who_moved(plan)
        export = start_export(source.id, source.slug)
        try:
            _move(plan)
        except BaseException:
            with contextlib.suppress(BaseException):
                export.wait()  # let the export's connection finish before the rollback
            raise
        progress(2, 3, "export")
        exported = export.wait()
        _close_chains(plan, exported["path"], moved)
        source.status, source.merged_into_id = "merged", target.id
        db.session.flush()
        _mark_stale(plan, stale)
        progress(3, 3, "done")
    return {**view, **plan.view(), "moved": plan.counts, "export": exported["path"]}


class MergeBlocked(Conflict):
    """The plan has conflicts: nothing was written; the report says what to fix."""

    def __init__(self, report: dict) -> None:
        lines = [c["message"] for c in report["conflicts"]]
        summary = f"The merger is blocked by {len(lines)} conflict(s): " + "; ".join(lines[:5])
        if len(lines) > 5:
            summary += f"; and {len(lines) - 5} more"
        super().__init__(summary, {"conflicts": lines})
        self.report = report


def _move(plan: Plan) -> None:
    """One UPDATE per table: the tenant, the references to mapped catalogue entries and
    new codes together, so each row is rewritten once (it matters at millions of items)."""
    from core.dashboards.aggregates import rebuild_unit_week_hours
    from core.dashboards.models import UnitWeekHours

    conn = db.session.connection()
    unit_sums = UnitWeekHours.__table__
    # People's past months move whole, closed ones too: the database lets this
    # transaction's statements through its closed-month guard (migration 0042).
    with writing_closed_months(conn, "tenant merger"):
        _move_tables(plan, conn, unit_sums)
    # Derived from week_hours, which moved above: the source's sums go, the target's are
    # summed again from its rows (a few thousand per month, one GROUP BY).
    plan.counts[unit_sums.name] = conn.execute(delete(unit_sums).where(unit_sums.c.tenant_id == plan.source.id)).rowcount
    rebuild_unit_week_hours(plan.target.id)
    tokens = db.metadata.tables["api_tokens"]
    conn.execute(update(tokens).where(tokens.c.subject_tenant_id == plan.source.id)
                 .values(subject_tenant_id=plan.target.id))


def _move_tables(plan: Plan, conn, unit_sums: Table) -> None:
    for table in _movable_tables():
        if table is unit_sums:
            continue  # a sum per unit and week: a mapped unit may meet the target's own cell
        # A moved row is the same row: columns that change on every update keep their value.
        values: dict = {c.name: c for c in table.columns if c.onupdate is not None}
        values["tenant_id"] = plan.target.id
        # References by foreign key, and those derived tables keep without one (their
        # Table.info, e.g. week_hours.unit_id): both follow the mapped catalogue entries.
        references = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys if fk.column.name == "id"}
        references |= table.info.get("references", {})
        for name, target in references.items():
            id_map = plan.id_maps.get(target)
            if id_map:
                column = table.c[name]
                values[name] = case(id_map, value=column, else_=column)
        renames = plan.renames.get(table.name)
        if renames:
            values["code"] = case(renames, value=table.c.id, else_=table.c.code)
            if "search_text" in table.c:  # a task type is searched by its code too: the new one
                values["search_text"] = case(_search_texts(table, renames), value=table.c.id,
                                             else_=table.c.search_text)
        if table.name == "work_items" and plan.id_maps.get("task_types"):
            values["norm_version_id"] = _norm_of_mapped_type(plan, table)
        plan.counts[table.name] = conn.execute(update(table).where(_moving(plan, table)).values(**values)).rowcount


def _search_texts(table: Table, renames: dict[int, str]) -> dict[int, str]:
    """The folded search text of each renamed row under its new code (one read of the names)."""
    from core.catalogue.services import fold

    names = db.session.execute(select(table.c.id, table.c.name).where(table.c.id.in_(list(renames))))
    return {i: fold(f"{renames[i]} {name}") for i, name in names}


def _norm_of_mapped_type(plan: Plan, items: Table):
    """Items of a task type mapped onto the target's keep the norm they were measured by
    (copied on the item) and point at the target type's version of their day (before its
    first version: the first). A CASE on the type, then on the date, built from the few
    versions: no subquery and no join per item, so millions of items cost one pass. The
    right-hand side of an UPDATE sees the row before it, so the CASE is on the old type."""
    type_map = plan.id_maps["task_types"]
    norms = _table("norm_versions")
    versions: dict[int, list[tuple[date, int]]] = {}
    for type_id, start, version_id in db.session.execute(
            select(norms.c.task_type_id, norms.c.effective_from, norms.c.id)
            .where(norms.c.task_type_id.in_(set(type_map.values()))).order_by(norms.c.effective_from)):
        versions.setdefault(type_id, []).append((start, version_id))
    whens = {}
    for src, dst in type_map.items():
        series = versions.get(dst)
        if not series:
            continue  # every task type has a version; keep the old pointer rather than guess
        if len(series) == 1:
            whens[src] = literal(series[0][1], BigInteger)
        else:
            whens[src] = case(*[(items.c.work_date < series[i + 1][0], literal(series[i][1], BigInteger))
                                for i in range(len(series) - 1)], else_=literal(series[-1][1], BigInteger))
    return case(whens, value=items.c.task_type_id, else_=items.c.norm_version_id) if whens else items.c.norm_version_id


def _who_moved(plan: Plan) -> tuple[list[list[int]], list[str]]:
    """Before the move: the source's people (id ranges, for the merger's record) and the
    source's scored months the target must score again — the month of the date when the
    date is not its first day (its parts are scored by each side's variant), and the
    months after, which the source scored by its own variant."""
    employees, scores = _table("employees"), _table("period_scores")
    ids = db.session.scalars(select(employees.c.id).where(employees.c.tenant_id == plan.source.id)).all()
    first = f"{plan.effective.year:04d}-{plan.effective.month:02d}"
    months = set(db.session.scalars(select(scores.c.period).distinct().where(
        scores.c.tenant_id == plan.source.id, scores.c.period >= first)))
    if plan.effective.day != 1:
        months.add(first)
    return id_ranges(ids), sorted(months)


def _mark_stale(plan: Plan, months: list[str]) -> None:
    if not months:
        return
    from core.scoring.stale import mark_stale

    with tenant_context(plan.target.id):
        mark_stale(months, f"Tenant merger of {plan.source.slug} effective {plan.effective.isoformat()}: "
                           "recalculate to score each side of the date by its own variant.")


def _close_chains(plan: Plan, export_path: str, moved: list[list[int]]) -> None:
    """Close the source's audit chain and anchor its last hash in the target's. The
    closing event is the merger's hashed record (its date and who moved); scoring reads
    the same in the target's `tenant_merges` row (core/scoring/sides.py)."""
    summary = {"source": plan.source.slug, "into": plan.target.slug, "effective_date": plan.effective.isoformat(),
               "moved": plan.counts, "export": export_path,
               "mapping": {k: plan.mapping.of(k) for k in CATALOGUE} | {"prefix": plan.mapping.prefix}}
    last = record("tenant.merged", "tenant", plan.source.id, after={**summary, "moved_employees": moved},
                  tenant_id=plan.source.id, seal=True)
    # What scoring reads, in the target (earlier mergers into the source moved there above).
    db.session.add(TenantMerge(tenant_id=plan.target.id, source_tenant_id=plan.source.id,
                               into_tenant_id=plan.target.id, effective_date=plan.effective, moved_employees=moved))
    count = db.session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.tenant_id == plan.source.id))
    record("tenant.merge", "tenant", plan.source.id, tenant_id=plan.target.id,
           after={**summary, "source_chain": {"tenant_id": plan.source.id, "events": count, "last_seq": last.seq,
                                              "last_hash": last.hash}})


def merged_sources(tenant_id: int) -> list[Tenant]:
    """Tenants merged into `tenant_id`, directly or through another merger."""
    found: list[Tenant] = []
    frontier = [tenant_id]
    while frontier:
        rows = list(db.session.scalars(select(Tenant).where(Tenant.merged_into_id.in_(frontier))))
        found += rows
        frontier = [t.id for t in rows]
    return found


def commit_merge(source_slug: str, target_slug: str, effective: date, mapping_data: dict | None,
                 dry_run: bool = False, progress=None) -> dict:
    """`merge`, committed, then `congvu_tenants_merged` so plugins migrate their own data;
    a blocked plan is rolled back and reported (nothing written)."""
    from core.plugins.events import emit

    try:
        result = merge(source_slug, target_slug, effective, mapping_data, dry_run, progress)
    except MergeBlocked as blocked:
        unit_of_work.rollback()
        return {**blocked.report, "blocked": True}
    if dry_run or result.get("already_merged"):
        unit_of_work.rollback()  # a dry run writes nothing, not even by accident
        return {**result, "blocked": False}
    unit_of_work.commit()
    with unscoped():
        source, target = _tenant(source_slug, "source"), _tenant(target_slug, "into")
    emit("congvu_tenants_merged", source_tenant_id=source.id, target_tenant_id=target.id, effective_date=effective)
    return {**result, "blocked": False}
