"""The catalogue writer: task types and their norm versions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.catalogue.models import BEGINNING, NormVersion, TaskType, TaskTypePosition
from core.catalogue.services import fold
from core.extensions import db
from core.imports.writers.base import Writer, _err
from core.org.models import JobPosition
from core.tenants.models import Tenant

MAX_CATALOGUE_ROWS = 50_000

class CatalogueWriter(Writer):
    """Catalogues are small (hundreds of task types): rows are kept and written with the
    ORM at the end, so a task type's identity and its norm versions change together."""

    def __init__(self, tenant: Tenant, dry_run: bool = False):
        super().__init__(tenant, dry_run)
        self.rows: list[tuple[int, dict]] = []
        self.seen: dict[tuple[str, date], int] = {}
        self.positions = dict(db.session.execute(select(JobPosition.code, JobPosition.id)).all())

    def add(self, row, values):
        key = (values["code"], values.get("effective_from") or BEGINNING)
        if key in self.seen:
            return [_err(row, "effective_from", f"Same code and effective date as row {self.seen[key]}.")]
        if len(self.rows) >= MAX_CATALOGUE_ROWS:
            return [_err(row, None, f"A catalogue file holds at most {MAX_CATALOGUE_ROWS} rows.")]
        self.seen[key] = row
        unknown = [c for c in values.get("position_codes", []) if c not in self.positions]
        if unknown:
            return [_err(row, "position_codes", f"No position with code {unknown[0]!r} in this tenant.")]
        self.rows.append((row, values))
        return []

    def finish(self):
        if self.failed:
            return []
        by_code: dict[str, list[tuple[int, dict]]] = {}
        for row, values in self.rows:
            by_code.setdefault(values["code"], []).append((row, values))
        existing = {tt.code: tt for tt in db.session.scalars(select(TaskType).where(TaskType.code.in_(list(by_code))))}
        for code, rows in by_code.items():
            rows.sort(key=lambda rv: rv[1].get("effective_from") or BEGINNING)
            latest = rows[-1][1]
            tt = existing.get(code)
            identity_changed = tt is None
            if tt is None:
                tt = TaskType(code=code, name=latest["name"], group=latest["group"],
                              unit_of_measure=latest["unit_of_measure"])
                db.session.add(tt)
            for name in ("name", "group", "unit_of_measure"):
                if getattr(tt, name) != latest[name]:
                    setattr(tt, name, latest[name])
                    identity_changed = True
            tt.search_text = fold(f"{tt.code} {tt.name}")
            if "position_codes" in latest:
                wanted = [self.positions[c] for c in latest["position_codes"]]
                if sorted(p.position_id for p in tt.positions) != sorted(wanted):
                    tt.positions = [TaskTypePosition(position_id=p) for p in wanted]
                    identity_changed = True
            db.session.flush()
            versions = {nv.effective_from: nv for nv in db.session.scalars(
                select(NormVersion).where(NormVersion.task_type_id == tt.id))}
            for index, (_, values) in enumerate(rows):
                changed = self._version(tt, versions, values)
                if changed == "new":
                    self.new += 1
                elif changed == "updated" or (identity_changed and index == len(rows) - 1):
                    self.updated += 1
                else:
                    self.unchanged += 1
        db.session.flush()
        return []

    def _version(self, tt: TaskType, versions: dict[date, NormVersion], values: dict) -> str:
        effective = values.get("effective_from") or BEGINNING
        wanted = {"norm_minutes": values["norm_minutes"].quantize(Decimal("0.01")),
                  "product_weight": values.get("product_weight", Decimal("1")).quantize(Decimal("0.001")),
                  "complexity_levels": values.get("complexity_levels", [])}
        version = versions.get(effective)
        if version is None:
            db.session.add(NormVersion(task_type_id=tt.id, effective_from=effective, **wanted))
            return "new"
        if (version.norm_minutes != wanted["norm_minutes"] or version.product_weight != wanted["product_weight"]
                or list(version.complexity_levels or []) != wanted["complexity_levels"]):
            for name, value in wanted.items():
                setattr(version, name, value)
            return "updated"
        return "unchanged"
