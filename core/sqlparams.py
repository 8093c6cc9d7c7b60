"""No statement is limited by how many ids it names.

An `IN` list is normally sent as one bind parameter per value, and drivers cap those:
PostgreSQL's protocol at 65,535 per statement, SQLite at 32,766. A recalculation of a
province with more people than that failed outright. Every *expanding* `IN` over an
integer column (ids, counts: every list of people, units, items the app builds) is
therefore rendered into the SQL text as integer literals at execution time
(SQLAlchemy's `literal_execute`); the statement is still compiled and cached once, and
an integer literal cannot carry anything but digits (the Integer type's literal
renderer is `str(int(value))`). Bulk INSERTs are batched by SQLAlchemy under the limit
(`insertmanyvalues_max_parameters`) and COPY has none (core/bulk.py).

Importing this module installs the rule, for every dialect; `core/app.py` does."""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter


@compiles(BindParameter)
def _integer_lists_inline(element: BindParameter, compiler, **kw):
    if element.expanding and isinstance(element.type, Integer) and not kw.get("literal_binds"):
        kw["literal_execute"] = True
    return compiler.visit_bindparam(element, **kw)
