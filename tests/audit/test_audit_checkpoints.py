"""Signed checkpoints of the audit chain (both databases): `congvu audit verify` fails,
with a one-line reason, when the tail of a tenant's log is deleted, when the whole log
is wiped, and when an event is edited and the plain SHA-256 chain recomputed up to the
head — three attacks the hash chain alone passes (each test shows that first)."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from sqlalchemy import create_engine, func, select, text

from core import create_app, unit_of_work
from core.audit import checkpoints
from core.audit.models import AuditEvent
from core.audit.services import content_hash, event_hash, record, verify_chain
from core.config import ConfigError
from core.extensions import db
from core.tenancy import tenant_context
from tests.cli.test_cli import run
from tests.factories import build_world


@pytest.fixture
def forty(clean_app):
    """A tenant whose log holds exactly 40 events, the last 39 committed one at a time."""
    w = build_world(clean_app, "tinh-a")
    with clean_app.app_context(), tenant_context(w.tenant_id):
        have = db.session.scalar(select(func.count()).select_from(AuditEvent))
        for i in range(40 - have):
            record("test.event", "thing", i)
            unit_of_work.commit()
        assert db.session.scalar(select(func.max(AuditEvent.seq))) == 40
    return w


def owner_sql(backend, sql: str, **params) -> None:
    """As the database owner would (the app role may not touch audit rows)."""
    engine = create_engine(backend.owner_url)
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()


def chain_alone_passes(app, w) -> bool:
    with app.app_context(), tenant_context(w.tenant_id):
        return verify_chain(w.tenant_id).ok


def last_line(result) -> str:
    return (result.stderr or result.output).strip().splitlines()[-1]


def test_each_commit_writes_a_signed_checkpoint_of_the_head(clean_app, forty):
    with clean_app.app_context(), tenant_context(forty.tenant_id):
        found = checkpoints.of_tenant(forty.tenant_id)
        head = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 40))
    newest = max(found, key=lambda c: c.seq)
    assert (newest.tenant_id, newest.seq, newest.count, newest.head) == (forty.tenant_id, 40, 40, head)
    with clean_app.app_context():
        assert all(checkpoints.genuine(c) for c in found)
        assert not checkpoints.genuine(newest, key="another-key")
    # One checkpoint per commit that appended: build_world's one commit of 11 events, then
    # the fixture's 29 commits of one event each.
    assert sorted(c.seq for c in found) == list(range(11, 41))


def test_a_rolled_back_transaction_writes_no_checkpoint(clean_app, forty):
    with clean_app.app_context(), tenant_context(forty.tenant_id):
        before = len(checkpoints.of_tenant(forty.tenant_id))
        record("test.lost", "thing", 1, seal=True)  # chained at once, then rolled back
        db.session.rollback()
        unit_of_work.commit()
        assert len(checkpoints.of_tenant(forty.tenant_id)) == before


def test_an_intact_log_verifies_against_its_checkpoint(clean_app, forty):
    ok = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert ok.exit_code == 0, ok.stderr
    assert ok.output.startswith("audit chain of tinh-a intact: 40 events, head seq 40 matches the checkpoint of ")
    assert "warning" not in ok.output


def test_deleting_the_tail_fails(clean_app, backend, forty):
    owner_sql(backend, "DELETE FROM audit_events WHERE tenant_id = :t AND seq > 35", t=forty.tenant_id)
    assert chain_alone_passes(clean_app, forty)  # what `audit verify` used to trust
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert broken.exit_code == 1
    assert last_line(broken).startswith(
        "error: audit log of tinh-a is broken: the log ends at seq 35 but the checkpoint of ")
    assert "signed seq 40, 40 events: 5 events were removed from the end (1 problems in 35 events)" in last_line(broken)


def test_wiping_the_whole_log_fails(clean_app, backend, forty):
    owner_sql(backend, "DELETE FROM audit_events WHERE tenant_id = :t", t=forty.tenant_id)
    assert chain_alone_passes(clean_app, forty)
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert broken.exit_code == 1
    assert "is broken: the log is empty but the checkpoint of " in last_line(broken)
    assert last_line(broken).endswith("signed seq 40, 40 events: the log was wiped (1 problems in 0 events)")


def test_wiping_the_log_and_the_checkpoints_still_fails(clean_app, backend, forty):
    owner_sql(backend, "DELETE FROM audit_events WHERE tenant_id = :t", t=forty.tenant_id)
    with clean_app.app_context():
        shutil.rmtree(checkpoints.directory())
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert broken.exit_code == 1 and "the log is empty, yet every tenant's log begins with its creation" in \
        last_line(broken)


def _rewrite(backend, app, w, seq: int) -> None:
    """Edit event `seq` and recompute every plain SHA-256 after it, as an attacker with
    write access to the table and this source code can."""
    with app.app_context(), tenant_context(w.tenant_id):
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.seq >= seq - 1)
                                         .order_by(AuditEvent.seq)))
        for e in events:
            db.session.expunge(e)
    prev = events[0].hash
    engine = create_engine(backend.owner_url)
    with engine.begin() as conn:
        for e in events[1:]:
            if e.seq == seq:
                e.actor = "user:999:someone-else"
                e.content_hash = content_hash(e)
            e.prev_hash = prev
            e.hash = prev = event_hash(e)
            conn.execute(text("UPDATE audit_events SET actor = :a, content_hash = :c, prev_hash = :p, hash = :h "
                              "WHERE tenant_id = :t AND seq = :s"),
                         {"a": e.actor, "c": e.content_hash, "p": e.prev_hash, "h": e.hash, "t": w.tenant_id,
                          "s": e.seq})
    engine.dispose()


def test_editing_an_event_and_recomputing_the_chain_fails(clean_app, backend, forty):
    _rewrite(backend, clean_app, forty, 10)
    assert chain_alone_passes(clean_app, forty)
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert broken.exit_code == 1
    assert "is broken: event seq 40 has hash " in last_line(broken)
    assert "signed seq 40, 40 events with hash " in last_line(broken)
    assert last_line(broken).endswith("the history up to it was rewritten (1 problems in 40 events)")


def test_a_forged_checkpoint_fails(clean_app, forty):
    with clean_app.app_context():
        forged = checkpoints.sign(forty.tenant_id, 41, "f" * 64, 41, key="a guessed key")
        with checkpoints.file_of(forty.tenant_id).open("a") as fh:
            fh.write(forged.to_json() + "\n")
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert broken.exit_code == 1 and "(seq 41): bad signature" in last_line(broken)


def test_a_chain_older_than_checkpoints_verifies_then_is_anchored(clean_app, backend, forty):
    """Logs written before this version have no checkpoint: they still verify (with a
    warning), and `congvu audit checkpoint` anchors them from then on."""
    with clean_app.app_context():
        shutil.rmtree(checkpoints.directory())
    old = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert old.exit_code == 0 and old.output.splitlines()[0] == "audit chain of tinh-a intact: 40 events"
    assert "warning: no signed checkpoint yet for tinh-a" in old.stderr
    made = run(clean_app, "audit", "checkpoint")
    assert made.exit_code == 0 and "tinh-a: checkpoint at seq 40 (40 events)" in made.output
    owner_sql(backend, "DELETE FROM audit_events WHERE tenant_id = :t AND seq > 35", t=forty.tenant_id)
    assert run(clean_app, "audit", "verify", "--tenant", "tinh-a").exit_code == 1


def test_the_export_carries_a_checkpoint_that_verify_accepts(clean_app, backend, forty, tmp_path):
    out = tmp_path / "export"
    assert run(clean_app, "tenant", "export", "--tenant", "tinh-a", "--out", str(out)).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    cp = manifest["audit_checkpoint"]
    assert (cp["tenant_id"], cp["seq"], cp["count"]) == (forty.tenant_id, 40, 40)
    with clean_app.app_context():
        shutil.rmtree(checkpoints.directory())  # the folder is lost: the export still anchors
    owner_sql(backend, "DELETE FROM audit_events WHERE tenant_id = :t AND seq > 35", t=forty.tenant_id)
    assert run(clean_app, "audit", "verify", "--tenant", "tinh-a").exit_code == 0  # nothing to compare with
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a", "--checkpoints", str(out))
    assert broken.exit_code == 1 and "5 events were removed from the end" in last_line(broken)


def test_the_log_line_is_a_checkpoint_too(clean_app, backend, forty, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="congvu.audit"), clean_app.app_context(), \
            tenant_context(forty.tenant_id):
        record("test.logged", "thing", 1)
        unit_of_work.commit()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(checkpoints.MARKER)]
    assert len(lines) == 1 and json.loads(lines[0].removeprefix(checkpoints.MARKER))["seq"] == 41
    # As the text and the JSON log formats write it.
    log = tmp_path / "congvu.log"
    log.write_text(f"2026-12-06 10:00:00 INFO congvu.audit [tenant=1 request_id=-] {lines[0]}\n"
                   + json.dumps({"level": "INFO", "message": lines[0]}) + "\n", encoding="utf-8")
    assert [c.seq for c in checkpoints.read(log)] == [41, 41]
    with clean_app.app_context():
        shutil.rmtree(checkpoints.directory())
    owner_sql(backend, "DELETE FROM audit_events WHERE tenant_id = :t AND seq > 40", t=forty.tenant_id)
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a", "--checkpoints", str(log))
    assert broken.exit_code == 1 and "the log ends at seq 40 but" in last_line(broken)


def test_production_refuses_to_start_without_an_audit_key(tmp_path):
    base = {"CONGVU_ENV": "production", "CONGVU_SECRET_KEY": "k" * 64,
            "CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CONGVU_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match="CONGVU_AUDIT_KEY"):
        create_app(base)
    assert create_app({**base, "CONGVU_AUDIT_KEY": "a" * 64}).config["CONGVU_AUDIT_KEY"] == "a" * 64
    dev = create_app({"CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/y.db", "CONGVU_INSTANCE_PATH": str(tmp_path)})
    assert len(dev.config["CONGVU_AUDIT_KEY"]) == 64 and (tmp_path / "audit_key").stat().st_mode & 0o077 == 0


def test_verify_prints_each_problem_as_found_and_keeps_only_the_first(clean_app, backend, forty, monkeypatch):
    """A chain of millions broken at its start has a problem per event: `audit verify`
    prints each as it is found and keeps the first KEPT_PROBLEMS (here 5), counting the
    rest; the exit code and the summary are as before."""
    from core.audit import services

    monkeypatch.setattr(services, "KEPT_PROBLEMS", 5)
    owner_sql(backend, "UPDATE audit_events SET action = 'forged' WHERE tenant_id = :t AND seq > 10",
              t=forty.tenant_id)
    heard: list[str] = []
    with clean_app.app_context(), tenant_context(forty.tenant_id):
        result = services.verify(forty.tenant_id, on_problem=heard.append)
    changed = [f"event seq {seq}: content was changed" for seq in range(11, 41)]
    assert heard == changed  # every one, in the chain's order
    assert result.problems == changed[:5] and result.problem_count == 30 and not result.ok
    broken = run(clean_app, "audit", "verify", "--tenant", "tinh-a")
    assert broken.exit_code == 1
    lines = (broken.stderr or broken.output).strip().splitlines()
    assert lines[:-1] == changed
    assert lines[-1] == ("error: audit log of tinh-a is broken: event seq 11: content was changed "
                         "(30 problems in 40 events)")
