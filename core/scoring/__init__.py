"""Scoring: per-item components from the tenant's variant, SQL roll-ups, period scores,
general criteria, explanations, recalculation jobs, period close and reopen."""
