"""Whom a refresh of some people's months touches — the leaders above them and the
people those leaders lead, and the deputies in charge of them — read in a few indexed
statements before the refresh locks them (core/scoring/locks.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from core.extensions import db
from core.org.models import DeputyField, Employee, OrgUnit
from core.scoring.kernel import Field, Person, Scheme
from core.scoring.locks import lock_for_refresh
from core.tenancy import current_tenant_id


@lru_cache(maxsize=1)
def _scope_statements():
    """The two statements of read_scope, built once: constructing them (recursive CTEs,
    aliases) cost more than running them. Parameters: tid, ids; tid, ids, units."""
    tid, ids = bindparam("tid"), bindparam("ids", expanding=True)
    up = (select(OrgUnit.id, OrgUnit.parent_id)
          .where(OrgUnit.tenant_id == tid, OrgUnit.id.in_(
              select(Employee.unit_id).where(Employee.tenant_id == tid, Employee.id.in_(ids))))
          .cte("up", recursive=True))
    parent = aliased(OrgUnit)
    up = up.union(select(parent.id, parent.parent_id).where(parent.tenant_id == tid, parent.id == up.c.parent_id))
    # A unit of the chain with a leader is the root of the subtree that leader leads.
    led = select(Employee.id).where(Employee.tenant_id == tid, Employee.unit_id == up.c.id,
                                    Employee.is_leader.is_(True))
    down = select(up.c.id.label("root"), up.c.id.label("unit")).where(led.exists()).cte("down", recursive=True)
    child = aliased(OrgUnit)
    down = down.union(select(down.c.root, child.id).where(child.tenant_id == tid, child.parent_id == down.c.unit))
    units = select(down.c.root, down.c.unit)
    people = (select(Employee.id, Employee.unit_id, Employee.is_leader, Employee.start_date, Employee.end_date)
              .where(Employee.tenant_id == tid,
                     Employee.id.in_(ids) | Employee.unit_id.in_(bindparam("units", expanding=True))))
    return units, people


@dataclass
class Scope:
    """Whom a refresh of some people's months touches: the leaders of their units and of
    the units above (each heads the subtree of their unit), and everyone in those
    subtrees. Read before the refresh's locks are taken, so the leaders can be locked too."""

    changed: set[int]
    units_of_root: dict[int, set[int]]  # a leader's unit → the units of its subtree
    rows: list  # employees: the changed people, everyone in those subtrees and in the deputies' fields
    # Deputies whose field (at some date) holds a changed person or their unit, or who
    # changed themselves; and every field row (deputy, unit, member, start, end) of those
    # deputies and of the deputies among ``rows`` — a refresh needs no other read of them.
    touching: set[int] = field(default_factory=set)
    field_rows: list = field(default_factory=list)

    def fields_in(self, start: date, end: date, deputies: Iterable[int] | None = None) -> dict[int, Field]:
        """The fields over [start, end] of these deputies (default: the touching ones)."""
        wanted = self.touching if deputies is None else set(deputies)
        out: dict[int, Field] = {}
        for deputy, unit, member, lo, hi in self.field_rows:
            if deputy in wanted and lo <= end and (hi is None or hi >= start):
                charge = out.setdefault(deputy, Field(set(), set()))
                if unit is not None:
                    charge.units.add(unit)
                if member is not None:
                    charge.people.add(member)
        return out

    @property
    def leaders(self) -> set[int]:
        """Every leader above (employed in the month or not: one who left loses the row),
        and every deputy in charge of a changed person."""
        return {r.id for r in self.rows if r.is_leader and r.unit_id in self.units_of_root} | self.touching


def read_scope(ids: Iterable[int]) -> Scope:
    """Two indexed statements (built once), rather than a read of the whole unit tree, and
    one on the deputies' fields (more only when a deputy is in charge of a changed person)."""
    units_stmt, people_stmt = _scope_statements()
    tid, changed = current_tenant_id(), sorted(set(ids))
    units_of_root: dict[int, set[int]] = defaultdict(set)
    for root, unit in db.session.execute(units_stmt, {"tid": tid, "ids": changed}):
        units_of_root[root].add(unit)
    wanted = sorted(set().union(*units_of_root.values())) if units_of_root else []
    rows = db.session.execute(people_stmt, {"tid": tid, "ids": changed, "units": wanted}).all()
    changed_set = set(changed)
    known = {r.id for r in rows}
    changed_units = {r.unit_id for r in rows if r.id in changed_set}
    field_rows = _field_rows(sorted(known), changed, sorted(changed_units))
    touching = {d for d, unit, member, _, _ in field_rows
                if d in changed_set or member in changed_set or unit in changed_units}
    missing = touching - known
    if missing:  # a deputy from elsewhere in charge of a changed person: their whole field
        field_rows += _field_rows(sorted(missing), [], [])
    if touching:
        # The deputies themselves and the people of their fields, for their rows' facts.
        spans = Scope(set(), {}, [], touching, field_rows).fields_in(date.min, date.max)
        extra_units = set().union(*(f.units for f in spans.values())) - set(wanted)
        extra_ids = (touching | set().union(*(f.people for f in spans.values()))) - known
        if extra_units or extra_ids:
            rows += db.session.execute(people_stmt, {"tid": tid, "ids": sorted(extra_ids),
                                                     "units": sorted(extra_units)}).all()
            rows = list({r.id: r for r in rows}.values())
            added = sorted({r.id for r in rows} - known - missing)
            if added:  # whether the people just added are deputies too (their stored row is their field's)
                field_rows += _field_rows(added, [], [])
    return Scope(changed_set, dict(units_of_root), rows, touching, field_rows)


def _field_rows(deputies: list[int], members: list[int], units: list[int]) -> list:
    """Field rows (deputy, unit, member, start, end) of these deputies, and of whoever is in
    charge of these people or units: one indexed statement on a small table."""
    if not (deputies or members or units):
        return []
    clause = DeputyField.deputy_id.in_(deputies)
    if members:
        clause = clause | DeputyField.member_id.in_(members)
    if units:
        clause = clause | DeputyField.unit_id.in_(units)
    stmt = select(DeputyField.deputy_id, DeputyField.unit_id, DeputyField.member_id, DeputyField.start_date,
                  DeputyField.end_date).where(clause)
    # A deputy outside ``deputies`` matched by a member or unit has only those rows here:
    # read_scope reads the rest of their field with a second call.
    return [tuple(r) for r in db.session.execute(stmt)]


def lock_people(ids: Iterable[int]) -> Scope:
    """Lock these people and every leader above them (lock_for_refresh), and return the
    scope of their refresh. The leaders are locked because a leader's row is computed
    from the stored rows of the people they lead: two refreshes under one leader must not
    overlap, or the second would read the first's member as it was before and write the
    leader's row over the first's (READ COMMITTED). Once the locks are held, the other's
    rows are committed and visible."""
    scope = read_scope(ids)
    lock_for_refresh(scope.changed | scope.leaders)
    return scope


def month_scope(scope: Scope, scheme: Scheme, fields: dict[int, Field],
                 ) -> tuple[set[int], list[Person], dict[int, set[int]], list[Person]]:
    """(ids with the leaders above, the people of the month among them, each leader's
    units, the people of the month in those units)."""
    ids = scope.changed | scope.leaders
    start, end = scheme.start, scheme.end
    employed = {r.id: Person(r.id, r.unit_id, r.is_leader, r.start_date, r.end_date) for r in scope.rows
                if (r.start_date is None or r.start_date <= end) and (r.end_date is None or r.end_date >= start)}
    people = [p for pid, p in employed.items() if pid in ids]
    led_units = {p.id: scope.units_of_root.get(p.unit_id, {p.unit_id}) for p in people
                 if p.is_leader and p.id not in fields}
    members = set().union(*led_units.values()) if led_units else set()
    in_fields: set[int] = set()
    for f in fields.values():
        members |= f.units
        in_fields |= f.people
    return ids, people, led_units, [p for p in employed.values() if p.unit_id in members or p.id in in_fields]
