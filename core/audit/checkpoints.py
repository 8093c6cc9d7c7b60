"""Signed checkpoints of each tenant's audit chain, kept outside the database.

The hash chain (core.audit.services) proves that the events in the table link up; it
cannot prove that none are missing at the end, nor that someone with write access did
not rewrite an event and recompute every plain SHA-256 after it. A checkpoint is
(tenant id, head seq, head hash, event count, time) signed with HMAC-SHA256 under
CONGVU_AUDIT_KEY, a secret the database does not hold. One is written after every
commit that appended events:

- as a line of the log (logger `congvu.audit`, message `audit checkpoint {...}`),
- appended to `<CONGVU_AUDIT_CHECKPOINT_DIR>/<tenant id>.jsonl`,
- and into every tenant export (`manifest.json` → `audit_checkpoint`).

`congvu audit verify` checks the chain and then the table against the newest checkpoint
whose signature holds: the event at the checkpoint's seq must carry its hash, and the
events up to it must be as many as it counted. What that does and does not detect is
in docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from flask import current_app, has_app_context

from core.timeutil import utcnow

log = logging.getLogger("congvu.audit")
MARKER = "audit checkpoint "
FIELDS = ("tenant_id", "seq", "head", "count", "at")


@dataclass(frozen=True)
class Checkpoint:
    tenant_id: int
    seq: int  # of the head event; 0 for an empty log
    head: str  # the head event's hash; 64 zeros for an empty log
    count: int  # the tenant's events at that moment (a whole chain numbers them 1..seq)
    at: str  # ISO time, UTC
    mac: str = ""  # HMAC-SHA256 under CONGVU_AUDIT_KEY of the fields above

    def payload(self) -> bytes:
        return json.dumps({k: getattr(self, k) for k in FIELDS}, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        # Fields read directly: dataclasses.asdict deep-copies each value (a commit's path).
        return json.dumps({k: getattr(self, k) for k in (*FIELDS, "mac")}, sort_keys=True, separators=(",", ":"))


def _key(key: str | None = None) -> bytes:
    return (key or current_app.config["CONGVU_AUDIT_KEY"]).encode()


def sign(tenant_id: int, seq: int, head: str, count: int, key: str | None = None) -> Checkpoint:
    unsigned = Checkpoint(int(tenant_id), int(seq), head, int(count), utcnow().replace(microsecond=0).isoformat())
    mac = hmac.new(_key(key), unsigned.payload(), hashlib.sha256).hexdigest()
    return replace(unsigned, mac=mac)


def genuine(checkpoint: Checkpoint, key: str | None = None) -> bool:
    expected = hmac.new(_key(key), checkpoint.payload(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, checkpoint.mac)


def directory() -> Path:
    configured = current_app.config.get("CONGVU_AUDIT_CHECKPOINT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "audit-checkpoints"


def file_of(tenant_id: int) -> Path:
    return directory() / f"{int(tenant_id)}.jsonl"


def write(checkpoint: Checkpoint) -> None:
    """Log the checkpoint and append it to its tenant's file. The events are already
    committed: a failure here is logged, never raised (the checkpoint after the next
    commit covers these events too)."""
    line = checkpoint.to_json()
    log.info("%s%s", MARKER, line)
    try:
        path = file_of(checkpoint.tenant_id)
        # One write() of one line with O_APPEND: lines of concurrent writers never interleave.
        # The directory is made when missing, not checked on every commit (a write's hot path).
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError:
        log.exception("could not write the audit checkpoint of tenant %s to %s", checkpoint.tenant_id, directory())


def write_after_commit(heads: Iterable[tuple[int, int, str]]) -> None:
    if not has_app_context():
        return
    for tenant_id, seq, head in heads:
        write(sign(tenant_id, seq, head, seq))


def _from_dict(data: object) -> Checkpoint | None:
    if not isinstance(data, dict) or not set(FIELDS) | {"mac"} <= data.keys():
        return None
    try:
        return Checkpoint(int(data["tenant_id"]), int(data["seq"]), str(data["head"]), int(data["count"]),
                          str(data["at"]), str(data["mac"]))
    except (TypeError, ValueError):
        return None


def _parse_line(line: str) -> Checkpoint | None:
    line = line.strip()
    if not line:
        return None
    try:
        whole = json.loads(line)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        if "mac" in whole:  # a line of a checkpoint file
            return _from_dict(whole)
        line = str(whole.get("message", ""))  # a line of the JSON log
    at = line.find(MARKER)
    if at < 0:
        return None
    try:
        return _from_dict(json.loads(line[at + len(MARKER):]))
    except ValueError:
        return None


def read(path: Path) -> Iterator[Checkpoint]:
    """The checkpoints in a checkpoint file, a log file (text or JSON lines), an export's
    manifest.json, or an export folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    if path.name == "manifest.json":
        found = _from_dict(json.loads(path.read_text(encoding="utf-8")).get("audit_checkpoint"))
        if found is not None:
            yield found
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            found = _parse_line(line)
            if found is not None:
                yield found


def of_tenant(tenant_id: int, extra: Iterable[Path] = ()) -> list[Checkpoint]:
    """Every checkpoint of the tenant: its file in the checkpoint folder, and `extra` files."""
    paths = [file_of(tenant_id), *extra]
    return [c for p in paths if Path(p).exists() for c in read(p) if c.tenant_id == int(tenant_id)]
