"""Who may open the work pages: a member of the URL's tenant (another tenant's people
get 404, as if the page were missing), and for the unit's pages a manager, an admin or
an auditor (403)."""

from __future__ import annotations

from flask import abort, g
from flask_login import current_user


def require_member() -> None:
    if current_user.is_operator or current_user.tenant_id != g.tenant.id:
        abort(404)


def require_manager() -> None:
    require_member()
    if not current_user.has_role("manager", "tenant_admin", "auditor"):
        abort(403)
