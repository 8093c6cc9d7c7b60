"""Logging in, API tokens and loading principals. No Flask request objects here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from core.auth.models import ApiToken, Operator, User
from core.auth.passwords import hash_password, password_problems, verify_password
from core.auth.principal import Principal
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context, unscoped
from core.tenants.models import Tenant
from core.timeutil import utcnow


class PasswordRejected(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def principal_for_user(user: User) -> Principal:
    employee_id = db.session.scalar(select(Employee.id).where(Employee.user_id == user.id))
    return Principal("user", user.id, user.username, user.tenant_id, tuple(user.roles), employee_id,
                     user.must_change_password)


def principal_for_operator(op: Operator) -> Principal:
    return Principal("operator", op.id, op.username)


def authenticate(tenant: Tenant | None, username: str, password: str) -> Principal | None:
    """The principal for these credentials, or None. Same cost whether or not the name exists."""
    if tenant is None:
        op = db.session.scalar(select(Operator).where(Operator.username == username))
        if verify_password(op.password_hash if op else None, password) and op and op.active:
            return principal_for_operator(op)
        return None
    if tenant.status == "merged" and tenant.merged_into_id is not None:
        # Logins moved with the merger; the old province's name still leads to them.
        tenant = db.session.get(Tenant, tenant.merged_into_id)
    with tenant_context(tenant.id):
        user = db.session.scalar(select(User).where(User.username == username))
        if not verify_password(user.password_hash if user else None, password) or not user or not user.active:
            return None
        if tenant.status != "active":
            return None
        user.last_login_at = utcnow()
        return principal_for_user(user)


def load_principal(session_id: str) -> Principal | None:
    """Flask-Login's user loader: ids are `u:<tenant>:<user>` or `o:<operator>`."""
    parts = session_id.split(":")
    try:
        if parts[0] == "o" and len(parts) == 2:
            op = db.session.get(Operator, int(parts[1]))
            return principal_for_operator(op) if op and op.active else None
        if parts[0] == "u" and len(parts) == 3:
            with tenant_context(int(parts[1])):
                user = db.session.get(User, int(parts[2]))
                return principal_for_user(user) if user and user.active else None
    except ValueError:
        return None
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(principal: Principal, ttl_seconds: int) -> tuple[str, int]:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(
        token_hash=_digest(token),
        subject_tenant_id=principal.tenant_id,
        user_id=None if principal.is_operator else principal.id,
        operator_id=principal.id if principal.is_operator else None,
        expires_at=utcnow() + timedelta(seconds=ttl_seconds),
    ))
    return token, ttl_seconds


def resolve_token(token: str) -> Principal | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if row.operator_id is not None:
        return load_principal(f"o:{row.operator_id}")
    principal = load_principal(f"u:{row.subject_tenant_id}:{row.user_id}")
    if principal is not None:
        tenant = db.session.get(Tenant, row.subject_tenant_id)
        if tenant is None or tenant.status != "active":
            return None
    return principal


def revoke_token(token: str) -> bool:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def create_user(username: str, password: str, roles: list[str]) -> User:
    """A login in the current tenant. Raises PasswordRejected for a weak password."""
    problems = password_problems(password, username)
    if problems:
        raise PasswordRejected(problems)
    user = User(username=username, password_hash=hash_password(password))
    user.roles = roles
    db.session.add(user)
    db.session.flush()
    return user


def create_operator(username: str, password: str) -> Operator:
    problems = password_problems(password, username)
    if problems:
        raise PasswordRejected(problems)
    with unscoped():
        op = Operator(username=username, password_hash=hash_password(password))
        db.session.add(op)
        db.session.flush()
    return op
