"""Logging in, API tokens and loading principals. No Flask request objects here."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, select, update

from core.audit.services import record
from core.auth.models import ApiToken, Operator, User
from core.auth.normalize import nfc
from core.auth.passwords import hash_password, password_problems, verify_password
from core.auth.principal import Principal
from core.errors import Invalid
from core.extensions import db
from core.org.models import Employee
from core.tenancy import current_tenant_id, is_unscoped, tenant_context, unscoped
from core.tenants.models import Tenant
from core.timeutil import utcnow


class LoginRefused(Exception):
    """The password was right but this login may not be used: deactivated, or the
    person's employment has ended. Said plainly (after the password check only, so it
    tells nothing to someone guessing)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class PasswordRejected(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def password_stamp(password_hash: str, generation: int = 0) -> str:
    """A short digest of the password hash and the login's session generation, carried
    in the session id: a new password or a logout (which raises the generation) changes
    it, so every session made before (other browsers included) ends at its next request.
    One-way, so the signed (readable) session cookie reveals nothing of the hash."""
    return hashlib.sha256(b"congvu-session:" + password_hash.encode() + b":" + str(generation).encode()
                          ).hexdigest()[:16]


def employment_ended(end_date: date | None, tenant_id: int | None) -> bool:
    """True once the day after the person's last day of employment has begun in the
    tenant's time zone (end_date is the last working day, inclusive)."""
    if end_date is None or tenant_id is None:
        return False
    from core.work import calendar as cal

    tenant = db.session.get(Tenant, tenant_id)
    return tenant is not None and end_date < cal.local_date(cal.now(), tenant)


def _employment(user_id: int) -> tuple[int | None, date | None]:
    row = db.session.execute(select(Employee.id, Employee.end_date).where(Employee.user_id == user_id)).first()
    return (row.id, row.end_date) if row else (None, None)


def principal_for_user(user: User, employee_id: int | None = None) -> Principal:
    if employee_id is None:
        employee_id = _employment(user.id)[0]
    return Principal("user", user.id, user.username, user.tenant_id, tuple(user.roles), employee_id,
                     user.must_change_password, password_stamp(user.password_hash, user.session_generation or 0))


def principal_for_operator(op: Operator) -> Principal:
    return Principal("operator", op.id, op.username,
                     stamp=password_stamp(op.password_hash, op.session_generation or 0))


def _live_user_principal(user: User | None) -> Principal | None:
    """The principal of a login that may still be used: active, employment not ended."""
    if user is None or not user.active:
        return None
    employee_id, end_date = _employment(user.id)
    if employment_ended(end_date, user.tenant_id):
        return None
    return principal_for_user(user, employee_id)


def authenticate(tenant: Tenant | None, username: str, password: str) -> Principal | None:
    """The principal for these credentials, or None. Same cost whether or not the name exists.
    Raises LoginRefused for the right password of a login that may not be used, and for
    any password of a tenant that signs in through single sign-on only (but its
    break-glass administrator's)."""
    username = nfc(username)
    if tenant is None:
        op = db.session.scalar(select(Operator).where(Operator.username == username))
        if not verify_password(op.password_hash if op else None, password) or op is None:
            return None
        if not op.active:
            raise LoginRefused("account_deactivated", "This login is deactivated.")
        return principal_for_operator(op)
    if tenant.status == "merged" and tenant.merged_into_id is not None:
        # Logins moved with the merger; the old province's name still leads to them.
        tenant = db.session.get(Tenant, tenant.merged_into_id)
    if tenant.status == "suspended":
        # Said to anyone, before any password is checked: the province's page says so too,
        # and nobody's password is worth trying (or counting) while it is suspended.
        raise LoginRefused("tenant_suspended", f"{tenant.name} is suspended from the platform.")
    with tenant_context(tenant.id):
        from core.sso.services import passwords_off_for

        if passwords_off_for(username):
            # Said before any password check: the tenant's login page says it anyway, and
            # nothing is guessed (no password of this tenant is ever accepted but one).
            raise LoginRefused("sso_only", "This organisation signs in through single sign-on only; "
                                           "use the single sign-on button.")
        user = db.session.scalar(select(User).where(User.username == username))
        if not verify_password(user.password_hash if user else None, password) or user is None:
            return None
        if tenant.status != "active":
            return None
        if not user.active:
            raise LoginRefused("account_deactivated",
                               "This login is deactivated; ask your tenant administrator.")
        employee_id, end_date = _employment(user.id)
        if employment_ended(end_date, tenant.id):
            raise LoginRefused("employment_ended",
                               f"This login is closed: the employment ended on {end_date.isoformat()}.")
        user.last_login_at = utcnow()
        return principal_for_user(user, employee_id)


def load_principal(session_id: str) -> Principal | None:
    """Flask-Login's user loader: ids are `u:<tenant>:<user>:<stamp>` or `o:<operator>:<stamp>`
    (see `password_stamp`); a stamp that no longer matches (a new password, a logout) is
    a signed-out session, and so is an id without one: it could never be ended. A
    deactivated login or one whose employment has ended loads nothing."""
    parts = session_id.split(":")
    try:
        if parts[0] == "o" and len(parts) == 3:
            op = db.session.get(Operator, int(parts[1]))
            principal = principal_for_operator(op) if op and op.active else None
            return principal if _stamp_matches(principal, parts[2]) else None
        if parts[0] == "u" and len(parts) == 4:
            with tenant_context(int(parts[1])):
                # The login with its tenant's status, in the one statement the login took:
                # as a token's (resolve_token), a suspended province's session is signed out
                # until it is resumed (its stamp still matches then), so the pages outside
                # its URL, which bind_tenant's 423 does not guard (/account/password), change nothing.
                row = db.session.execute(select(User, Tenant.status).join(Tenant, Tenant.id == User.tenant_id)
                                         .where(User.id == int(parts[2]))).first()
                if row is None or row.status != "active":
                    return None
                principal = _live_user_principal(row[0])
                return principal if _stamp_matches(principal, parts[3]) else None
    except ValueError:
        return None
    return None


def _load_for_token(subject_tenant_id: int | None, user_id: int | None, operator_id: int | None) -> Principal | None:
    """A token's principal (no session stamp to match: the token row is the credential)."""
    if operator_id is not None:
        op = db.session.get(Operator, operator_id)
        return principal_for_operator(op) if op and op.active else None
    if subject_tenant_id is None or user_id is None:
        return None
    with tenant_context(subject_tenant_id):
        return _live_user_principal(db.session.get(User, user_id))


def _stamp_matches(principal: Principal | None, given: str) -> bool:
    return principal is not None and secrets.compare_digest(given, principal.stamp)


def end_sessions(principal: Principal) -> None:
    """Log out: raise the login's session generation, so every session of this login
    (this browser's and any copied cookie) fails its stamp at the next request."""
    if principal.is_operator:
        with unscoped():
            db.session.execute(update(Operator).where(Operator.id == principal.id)
                               .values(session_generation=Operator.session_generation + 1)
                               .execution_options(synchronize_session=False))
        return
    with tenant_context(principal.tenant_id):
        db.session.execute(update(User).where(User.id == principal.id)
                           .values(session_generation=User.session_generation + 1)
                           .execution_options(synchronize_session=False))
        record("auth.logout", "user", principal.id, after={"via": "page"}, actor=principal.actor)


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
    """The principal a bearer token stands for, or None (unknown, revoked, expired, an
    inactive login or tenant). Read from the database on every request, so revocation,
    expiry, a new password and must_change_password take effect on the very next one."""
    digest = _digest(token)
    tid = current_tenant_id()
    if tid is not None and not is_unscoped():
        # The usual case, a tenant URL called with a token of that tenant's user: the token,
        # the login and its employee record in one statement instead of three.
        row = db.session.connection().execute(_token_of_tenant(), {"digest": digest, "tid": tid}).first()
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            return None
        if row.uid is not None:
            tenant = db.session.get(Tenant, tid)  # bind_tenant loaded it: no statement
            if not row.active or tenant is None or tenant.status != "active":
                return None
            if employment_ended(row.end_date, tid):
                return None
            return Principal("user", row.uid, row.username, tid, tuple(r for r in row.roles.split(",") if r),
                             row.employee_id, row.must_change_password,
                             password_stamp(row.password_hash, row.session_generation or 0), row.token_id)
        return _with_token(_principal_of(row.subject_tenant_id, row.user_id, row.operator_id), row.token_id)
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return _with_token(_principal_of(row.subject_tenant_id, row.user_id, row.operator_id), row.id)


def _with_token(principal: Principal | None, token_id: int) -> Principal | None:
    return None if principal is None else dataclasses.replace(principal, token_id=token_id)


def _principal_of(subject_tenant_id: int | None, user_id: int | None, operator_id: int | None) -> Principal | None:
    """A live token's principal, loaded in its own tenant (an operator's, or a token used
    on another tenant's URL, which tenant_member then answers with a 404)."""
    principal = _load_for_token(subject_tenant_id, user_id, operator_id)
    if operator_id is not None:
        return principal
    if principal is not None:
        tenant = db.session.get(Tenant, subject_tenant_id)
        if tenant is None or tenant.status != "active":
            return None
    return principal


@lru_cache(maxsize=1)
def _token_of_tenant():
    """Built once (building it cost more than running it). The login and employee are
    joined only within the tenant `tid`, explicitly, since a Core statement gets no ORM
    tenant filter (row-level security checks it again on PostgreSQL)."""
    t, u, e = ApiToken.__table__, User.__table__, Employee.__table__
    tid = bindparam("tid", type_=t.c.subject_tenant_id.type)
    return (select(t.c.id.label("token_id"), t.c.subject_tenant_id, t.c.user_id, t.c.operator_id, t.c.expires_at, t.c.revoked_at,
                   u.c.id.label("uid"), u.c.username, u.c.password_hash, u.c.roles, u.c.active,
                   u.c.must_change_password, u.c.session_generation, e.c.id.label("employee_id"),
                   e.c.end_date)
            .outerjoin(u, and_(u.c.id == t.c.user_id, u.c.tenant_id == t.c.subject_tenant_id, u.c.tenant_id == tid))
            .outerjoin(e, and_(e.c.user_id == u.c.id, e.c.tenant_id == tid))
            .where(t.c.token_hash == bindparam("digest")))


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


# ---------------------------------------------------------------- password reset and change

# No 0/O, 1/l/I: a temporary password is read out or copied by hand.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password() -> str:
    """A temporary password: four groups of four (about 93 bits), e.g. `Kq7m-x2Rt-…`."""
    while True:
        password = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
        if not password_problems(password):
            return password


def revoke_user_tokens(user_id: int, tenant_id: int, keep: str | None = None) -> int:
    """Revoke every live token of a tenant's user (but `keep`, the caller's own); one UPDATE."""
    stmt = (update(ApiToken)
            .where(ApiToken.subject_tenant_id == tenant_id, ApiToken.user_id == user_id,
                   ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    if keep:
        stmt = stmt.where(ApiToken.token_hash != _digest(keep))
    return db.session.execute(stmt).rowcount or 0


def reset_password(user: User, password: str | None, actor: str) -> tuple[str | None, int]:
    """A tenant admin sets a temporary password (given, or generated when None): the user
    must change it at the next login, and every token and session of theirs ends.
    Returns the generated password (None when one was given) and the tokens revoked.
    The audit event says that it happened, never the password."""
    generated = password is None
    if password is None:
        password = generate_password()
    else:
        problems = password_problems(password, user.username)
        if problems:
            raise Invalid("The password is not acceptable.", {"password": problems})
    user.password_hash = hash_password(password)  # a new hash: the session stamp changes
    user.must_change_password = True
    revoked = revoke_user_tokens(user.id, user.tenant_id)
    record("auth.password_reset", "user", user.id,
           after={"username": user.username, "generated": generated, "tokens_revoked": revoked,
                  "must_change_password": True}, actor=actor)
    return (password if generated else None), revoked


def change_password(principal: Principal, current: str, new: str, keep_token: str | None = None) -> Principal:
    """The signed-in person sets their own password; clears `must_change_password`.
    Their other tokens are revoked (`keep_token`, the one of this request, stays) and
    their other sessions end. Raises Invalid with field errors."""
    if principal.is_operator:
        op = db.session.get(Operator, principal.id)
        _check_new_password(op, current, new)
        op.password_hash = hash_password(new)
        _revoke_operator_tokens(op.id, keep_token)
        return principal_for_operator(op)
    # /auth/password names no tenant: work in the caller's.
    with tenant_context(principal.tenant_id):
        user = db.session.get(User, principal.id)
        _check_new_password(user, current, new)
        user.password_hash = hash_password(new)
        user.must_change_password = False
        revoked = revoke_user_tokens(user.id, user.tenant_id, keep=keep_token)
        record("auth.password_changed", "user", user.id,
               after={"username": user.username, "tokens_revoked": revoked}, actor=principal.actor)
        return principal_for_user(user)


def _check_new_password(account: User | Operator | None, current: str, new: str) -> None:
    if account is None or not verify_password(account.password_hash, current):
        raise Invalid("The current password is wrong.", {"current_password": ["Wrong password."]},
                      code="wrong_password")
    problems = password_problems(new, account.username)
    if new == current:
        problems.append("The new password must differ from the current one.")
    if problems:
        raise Invalid("The new password is not acceptable.", {"new_password": problems})


def _revoke_operator_tokens(operator_id: int, keep: str | None) -> int:
    stmt = (update(ApiToken).where(ApiToken.operator_id == operator_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    if keep:
        stmt = stmt.where(ApiToken.token_hash != _digest(keep))
    return db.session.execute(stmt).rowcount or 0
