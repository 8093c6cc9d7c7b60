"""The chain check an inspector runs from the audit page: what `congvu audit verify` does
(the chain, then the table against its newest signed checkpoint, and the chains of the
provinces merged into this one), for someone who has no command line.

It reads, never writes: nothing of the log changes, so a check is not itself an event."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from core.audit.services import KEPT_PROBLEMS, verify
from core.tenancy import tenant_context, unscoped

SEQ = re.compile(r"\bseq (\d+)")


@dataclass
class Verdict:
    """`ok` when every chain holds; `count` events checked; `problems` as the check words
    them (technical, for the record); `first_seq` the first broken event's number when a
    problem names one; `anchored` whether a signed checkpoint vouched for the head (without
    one a cut tail goes unseen); `anchor_at`/`anchor_seq` that checkpoint."""

    ok: bool
    count: int
    problems: list[str] = field(default_factory=list)
    first_seq: int | None = None
    anchored: bool = False
    anchor_at: str | None = None
    anchor_seq: int | None = None
    problem_count: int = 0  # all found; `problems` keeps the first (core/audit/services.py KEPT_PROBLEMS)


def check(tenant_id: int, progress: Callable[[int, int, str | None], None] | None = None) -> Verdict:
    """The tenant's chain and those merged into it (docs/mergers.md). `progress(done,
    total, stage)` hears each chain's walk, the stage naming a merged province's chain."""
    from core.mergers.services import merged_sources

    def heard(stage: str | None) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda done, total: progress(done, total, stage))

    with tenant_context(tenant_id):
        result = verify(tenant_id, progress=heard(None))
    verdict = Verdict(ok=result.ok, count=result.count, problems=list(result.problems),
                      problem_count=result.problem_count, anchored=result.anchor is not None,
                      anchor_at=result.anchor.at if result.anchor else None,
                      anchor_seq=result.anchor.seq if result.anchor else None)
    with unscoped():
        sources = merged_sources(tenant_id)
    for merged in sources:
        with tenant_context(merged.id):
            part = verify(merged.id, progress=heard(merged.slug))
        verdict.ok = verdict.ok and part.ok
        verdict.count += part.count
        verdict.problem_count += part.problem_count
        verdict.problems += [f"{merged.slug}: {p}" for p in part.problems[:max(0, KEPT_PROBLEMS - len(verdict.problems))]]
    found = next((SEQ.search(p) for p in verdict.problems if SEQ.search(p)), None)
    verdict.first_seq = int(found.group(1)) if found else None
    return verdict


SHOWN_PROBLEMS = 200  # a chain cut at its start has one problem; a page shows 50, the CLI prints all


def as_result(verdict: Verdict) -> dict:
    """The verdict as a job's JSON result: its problems cut to the first SHOWN_PROBLEMS,
    with how many there were (`congvu audit verify` lists every one)."""
    out = asdict(verdict)
    out["problem_count"] = max(verdict.problem_count, len(verdict.problems))
    out["problems"] = verdict.problems[:SHOWN_PROBLEMS]
    return out


def from_result(result: dict) -> Verdict:
    """A verdict back from a job's stored result."""
    known = {k: result[k] for k in Verdict.__dataclass_fields__ if k in result}
    return Verdict(**known)
