"""Diagnostic only (`python -m bench --without-scoring-refresh`): take the scoring
engine's before-commit refresh out, to measure how much of a write's time and
serialisation it accounts for. Never used by the application."""

from sqlalchemy import event
from sqlalchemy.orm import Session


def remove_scoring_refresh() -> bool:
    try:
        from core.scoring import services as scoring

        event.remove(Session, "before_commit", scoring._refresh_changed_items)
        return True
    except (ImportError, AttributeError, LookupError) as exc:  # the engine changed: say so, run as is
        print(f"bench diagnostic: scoring refresh not removed ({exc})", flush=True)
        return False
