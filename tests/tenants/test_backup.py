"""`congvu tenant export` and `tenant import`: a whole tenant — people, work, scores, the
classification, the audit chain — round-trips to another database with every row equal,
and every refusal (slug, tenant id or row id taken, other schema revision, a file that
fails its checksum) writes nothing. On both databases, and SQLite → PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core import unit_of_work
from core.audit import checkpoints
from core.extensions import db
from core.org import services as org
from core.tenancy import tenant_context, unscoped
from core.tenants import backup
from core.tenants.services import create_tenant
from tests.classification.test_classification_api import TOTALS_2026, set_totals
from tests.classification.test_classification_api import run as run_classification
from tests.cli.test_cli import run
from tests.conftest import Backend, _drop_postgres, _make_postgres, _wipe, make_app
from tests.factories import build_world
from tests.work.test_work_support import PASSWORD, build, declare

pytest_plugins = ("tests.work.test_work_support",)

SLUG = "tinh-w"


# ---------------------------------------------------------------- a second database


def _target(backend_name: str, tmp_path_factory):
    from flask_migrate import upgrade

    if backend_name == "postgresql":
        target = _make_postgres()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('target') / 'target.db'}"
        target = Backend("sqlite", url, url)
    app = make_app(target, tmp_path_factory)
    with app.app_context():
        upgrade()
    return target, app


def _close(target: Backend, app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if target.name == "postgresql":
        _drop_postgres(target)


@pytest.fixture(scope="session")
def target_db(backend, tmp_path_factory):
    """A second, freshly migrated database of the same kind, as another instance would have."""
    target, app = _target(backend.name, tmp_path_factory)
    yield target, app
    _close(target, app)


@pytest.fixture
def target(target_db):
    backend_, app = target_db
    app.extensions["test_backend"] = backend_
    _wipe(backend_)
    with app.app_context():  # the emptied database's checkpoints would not match the next history
        shutil.rmtree(checkpoints.directory(), ignore_errors=True)
    yield app
    with app.app_context():
        db.session.remove()


# ---------------------------------------------------------------- the tenant


@pytest.fixture
def source(clean_app, client, clock) -> int:
    """Another tenant first (so ids of the one exported do not start at 1), then tinh-w
    with work declared and scored, a classified year and an appeal: audit events of all."""
    build_world(clean_app, "ben-canh", client)
    w = build(clean_app, SLUG)
    for who, quantity in (("staff", 2), ("staff2", 3), ("manager", 1)):
        declare(client, w, who, quantity=quantity, work_date="2026-10-14")
    declare(client, w, "staff", task_type_code="VB01", quantity=1, work_date="2026-10-13")
    r = client.post(w.url("/recalculations"), json={"period": "2026-10"}, headers=w.h("admin"))
    assert r.status_code == 202, r.get_json()
    set_totals(clean_app, w, TOTALS_2026)
    run_classification(client, w)
    with clean_app.app_context(), tenant_context(w.tenant_id):
        from core.audit.models import AuditEvent
        from core.classification.models import EmployeeClassification
        from core.scoring.models import ItemScore, PeriodScore

        assert db.session.scalar(select(func.count()).select_from(ItemScore)) == 4
        assert db.session.scalar(select(func.count()).select_from(PeriodScore)) >= 7
        assert db.session.scalar(select(func.count()).select_from(EmployeeClassification)) == 7
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > 5
    return w.tenant_id


def _rows(app, tenant_id: int) -> dict[str, list[tuple]]:
    """Every row of the tenant in every exported table, in primary-key order."""
    out = {}
    with app.app_context(), unscoped():
        for table in backup.tables():
            column = table.c.id if table.name == "tenants" else table.c.tenant_id
            # The config stamp is no data: any database sets its own when the rows arrive.
            shown = [c for c in table.c if c.name != "config_stamp"]
            rows = db.session.execute(select(*shown).where(column == tenant_id)
                                      .order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def _all_counts(app) -> dict[str, int]:
    with app.app_context(), unscoped():
        return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _export(app, tmp_path: Path, slug: str = SLUG) -> Path:
    out = tmp_path / "export"
    result = run(app, "tenant", "export", "--tenant", slug, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"exported tenant {slug}" in result.output
    return out


# ---------------------------------------------------------------- round trip


def test_export_import_round_trips_every_row(clean_app, source, target, tmp_path):
    out = _export(clean_app, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    with clean_app.app_context():
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert manifest["tenant_id"] == source and manifest["slug"] == SLUG
    assert manifest["schema_revision"] == revision
    assert set(manifest["files"]) == {f"{t.name}.jsonl" for t in backup.tables()}
    before = _rows(clean_app, source)
    assert {name: len(rows) for name, rows in before.items()} == manifest["counts"]
    assert "api_tokens" not in manifest["counts"] and "api_tokens" in manifest["not_exported"]

    result = run(target, "tenant", "import", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"imported tenant {SLUG} (id {source}): {sum(manifest['counts'].values())} rows" in result.output
    assert result.stderr.strip() == "" or "sequences" not in result.stderr
    assert _rows(target, source) == before
    # The target holds that tenant and nothing else: no tokens, no other tenant.
    counts = _all_counts(target)
    assert counts == {**{t: 0 for t in counts}, **manifest["counts"]}

    verify = run(target, "audit", "verify", "--tenant", SLUG)
    assert verify.exit_code == 0, verify.stderr
    assert f"intact: {manifest['counts']['audit_events']} events" in verify.output
    # People log in on the target with the passwords they had.
    login = target.test_client().post("/api/v1/auth/token",
                                      json={"tenant": SLUG, "username": "staff", "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    # New rows on the target take ids after the imported ones (the sequences moved).
    with target.app_context(), tenant_context(source):
        unit = org.create_unit({"code": "AG-P9", "name": "Phòng Chín", "kind": "department"})
        unit_of_work.commit()
        assert unit.id > max(r[0] for r in before["org_units"])


def test_import_as_another_slug_keeps_everything_else(clean_app, source, target, tmp_path):
    out = _export(clean_app, tmp_path)
    result = run(target, "tenant", "import", str(out), "--as", "tinh-moi")
    assert result.exit_code == 0, result.stderr
    before, after = _rows(clean_app, source), _rows(target, source)
    assert after["tenants"][0][1:] != before["tenants"][0][1:]
    assert {k: v for k, v in after.items() if k != "tenants"} == {k: v for k, v in before.items() if k != "tenants"}
    assert run(target, "audit", "verify", "--tenant", "tinh-moi").exit_code == 0


# ---------------------------------------------------------------- refusals write nothing


def _refused(target, out: Path, *extra: str) -> str:
    before = _all_counts(target)
    result = run(target, "tenant", "import", str(out), *extra)
    assert result.exit_code == 1, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _all_counts(target) == before
    return result.stderr


def test_refusals_write_nothing(clean_app, source, target, tmp_path):
    out = _export(clean_app, tmp_path)
    assert run(target, "tenant", "import", str(out)).exit_code == 0
    # The slug, then (under another slug) the tenant id.
    assert "already holds a tenant tinh-w" in _refused(target, out)
    assert "already holds tenant id" in _refused(target, out, "--as", "tinh-khac")
    _wipe_target(target)
    # Another schema revision.
    manifest_path = out / "manifest.json"
    original = manifest_path.read_text(encoding="utf-8")
    manifest = json.loads(original)
    manifest_path.write_text(json.dumps({**manifest, "schema_revision": "0001"}), encoding="utf-8")
    assert "schema revision 0001" in _refused(target, out)
    manifest_path.write_text(original, encoding="utf-8")
    # A file changed after the export.
    items = out / "work_items.jsonl"
    text = items.read_text(encoding="utf-8")
    items.write_text(text.replace('"quantity":', '"quantity": 9, "x":', 1), encoding="utf-8")
    assert "work_items.jsonl does not match its checksum" in _refused(target, out)
    items.write_text(text, encoding="utf-8")
    # A missing manifest, and a bad --as.
    assert "not a tenant export" in _refused(target, tmp_path)
    assert "slug" in _refused(target, out, "--as", "Không hợp lệ")
    # And with everything right again, it imports.
    assert run(target, "tenant", "import", str(out)).exit_code == 0


def _wipe_target(app) -> None:
    _wipe(app.extensions["test_backend"])


def test_a_taken_row_id_is_refused(clean_app, source, target, tmp_path):
    out = _export(clean_app, tmp_path)
    with target.app_context():  # another tenant (id 1) whose 65 communes take the unit ids of tinh-w
        create_tenant("khanh-hoa", "Tỉnh Khánh Hòa", 56)
        unit_of_work.commit()
    assert source != 1
    reason = _refused(target, out)
    assert "Ids of org_units are taken" in reason, reason


def test_export_refuses_a_folder_in_use_and_an_unknown_tenant(clean_app, source, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    busy = run(clean_app, "tenant", "export", "--tenant", SLUG, "--out", str(tmp_path / "full"))
    assert busy.exit_code == 1 and "is not empty" in busy.stderr
    unknown = run(clean_app, "tenant", "export", "--tenant", "khong-co", "--out", str(tmp_path / "n"))
    assert unknown.exit_code == 1 and "no tenant 'khong-co'" in unknown.stderr
    assert not (tmp_path / "n").exists()


# ---------------------------------------------------------------- across databases


def test_a_sqlite_export_imports_into_postgresql(clean_app, backend, source, tmp_path, tmp_path_factory):
    if backend.name != "sqlite":
        pytest.skip("exports from the SQLite run into a fresh PostgreSQL database")
    from tests.conftest import _pg_available

    if _pg_available():
        pytest.skip("PostgreSQL not available")
    out = _export(clean_app, tmp_path)
    pg, app = _target("postgresql", tmp_path_factory)
    try:
        result = run(app, "tenant", "import", str(out))
        assert result.exit_code == 0, result.stderr
        assert _rows(app, source) == _rows(clean_app, source)
        assert run(app, "audit", "verify", "--tenant", SLUG).exit_code == 0
    finally:
        _close(pg, app)
