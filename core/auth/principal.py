"""Who is asking: a tenant user or a platform operator, the same shape for pages and API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "operator"
    id: int
    username: str
    tenant_id: int | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)
    employee_id: int | None = None
    must_change_password: bool = False
    stamp: str = ""  # of the password and session generation (services.password_stamp): a new password or a logout ends sessions
    token_id: int | None = None  # the API token that authenticated this request (its audit events say so)

    # Flask-Login's user interface.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        base = f"o:{self.id}" if self.is_operator else f"u:{self.tenant_id}:{self.id}"
        return f"{base}:{self.stamp}" if self.stamp else base

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"operator:{self.username}" if self.is_operator else f"user:{self.id}:{self.username}"
