"""Diagnostic only (`python -m bench --without-scoring-refresh`): take the scoring step
of the commit (core/unit_of_work.py, step 2) out, to measure how much of a write's time
and serialisation it accounts for. Never used by the application."""


def remove_scoring_refresh() -> bool:
    try:
        from core.scoring import services as scoring

        if not callable(scoring.score_items):
            raise AttributeError("score_items")
        scoring.score_items = lambda session, events: set()
        return True
    except (ImportError, AttributeError) as exc:  # the engine changed: say so, run as is
        print(f"bench diagnostic: scoring refresh not removed ({exc})", flush=True)
        return False
