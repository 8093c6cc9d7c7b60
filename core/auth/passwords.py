"""Password hashing (argon2id, OWASP's m=19 MiB, t=2, p=1) and the password policy."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 128  # at least 64 must be accepted; longer only costs hashing time

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("congvu-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("core.auth").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Why a password is refused (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must have at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in _common_passwords():
        problems.append("Password is too common.")
    if username and lowered == username.lower():
        problems.append("Password must not be the username.")
    return problems
