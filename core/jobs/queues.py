"""The names of the RQ queues: one per workload, behind an optional installation prefix.

A leaf module (Flask only) so that the job runner, the health check and the scorer can all
name a queue without importing each other."""

from __future__ import annotations

from flask import current_app, has_app_context

WORKLOADS = ("scoring", "imports", "default")  # the queues `congvu worker` serves by default


def queue_name(workload: str) -> str:
    """Queues are named by workload; a prefix lets several installations share a Redis."""
    prefix = current_app.config.get("CONGVU_QUEUE_PREFIX") or "" if has_app_context() else ""
    return f"{prefix}{workload}"
