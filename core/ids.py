"""The one limit on ids: every primary key is a BIGINT, so a larger number names nothing.
Checked before a query is built, because PostgreSQL raises on an out-of-range parameter
where it should simply find no row."""

from __future__ import annotations

MAX_ID = 2**63 - 1

