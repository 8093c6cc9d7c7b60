"""Lists: ?page=&per_page= (default 50, max 500) and the X-Total-Count header."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from core.extensions import db

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000_000))
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def paginate(stmt: Select, args: dict) -> tuple[list, dict]:
    """One COUNT and one page query, whatever the number of rows."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page, per_page = args.get("page", 1), args.get("per_page", DEFAULT_PER_PAGE)
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return items, {"X-Total-Count": str(total)}


def page_and_total(stmt: Select, page: int, per_page: int) -> tuple[list, int]:
    """One page of `stmt` (1-based) and the number of rows in all pages — for pages that
    show "n of total" rather than set a header."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique())
    return rows, total
