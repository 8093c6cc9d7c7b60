"""Password hashing (argon2id, OWASP's m=19 MiB, t=2, p=1) and the password policy
(NIST SP 800-63B, section 3.1.1.2): a minimum length and a check against common and
guessable passwords, no composition rules, no expiry. Passwords are compared as NFC, so a
password typed with combining marks (NFD) is the same password.

The policy applies where a password is set (a new login, a reset, a change); existing
passwords keep working until they are changed."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.auth.normalize import unmarked

MIN_LENGTH = 12
MAX_LENGTH = 128  # at least 64 must be accepted; longer only costs hashing time

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("congvu-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(unicodedata.normalize("NFC", password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Tried as NFC first (how every password is hashed now); a password hashed as typed
    before that, in NFD, is tried as NFD too, so it keeps working whichever way it comes."""
    candidates = [unicodedata.normalize("NFC", password)]
    for other in (unicodedata.normalize("NFD", password), password):
        if other not in candidates:
            candidates.append(other)
    for candidate in candidates:
        try:
            if _hasher.verify(password_hash or _DUMMY_HASH, candidate):
                return password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
    return False


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("core.auth").joinpath("data/common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


# Words a guesser tries first, decorated with digits and symbols (`Matkhau@123`,
# `khanhhoa2026`, `Admin#2026`): Vietnamese and English stock words and the names of the
# provinces and big cities, without diacritics or spaces, before and after the 2025 mergers.
_STOCK_WORDS = frozenset("""
matkhau password passwd pass admin administrator quantri congvu kpi welcome xinchao
vietnam anhyeuem emyeuanh yeuem iloveyou qwerty abc abcd abcdef letmein test guest
user nguoidung hethong system khanhhoa nhatrang camranh hanoi hochiminh saigon tphcm
haiphong danang cantho hue thuathienhue angiang bariavungtau vungtau bacgiang backan
baclieu bacninh bentre binhdinh binhduong binhphuoc binhthuan camau caobang daklak
daknong dienbien dongnai dongthap gialai hagiang hanam hatinh haiduong haugiang
hoabinh hungyen kiengiang kontum laichau lamdong langson laocai longan namdinh
nghean ninhbinh ninhthuan phutho phuyen quangbinh quangnam quangngai quangninh
quangtri soctrang sonla tayninh thaibinh thainguyen thanhhoa tiengiang travinh
tuyenquang vinhlong vinhphuc yenbai dalat quynhon vinh buonmathuot pleiku
""".split())
_DECORATION = re.compile(r"[\d\W_]+")


def _plain(text: str) -> str:
    """`Khánh Hòa` → `khanh hoa`."""
    return unmarked(text)


def _guessable(password: str) -> bool:
    lowered = password.lower()
    if lowered in _common_passwords():
        return True
    plain = _plain(password)
    letters = _DECORATION.sub("", plain)  # digits, symbols and spaces taken out
    if letters in _STOCK_WORDS or letters in _common_passwords():
        return True
    # A stock word twice or with its pieces decorated (`khanh.hoa.2026`, `adminadmin`).
    if any(letters == word * 2 for word in _STOCK_WORDS if len(word) * 2 == len(letters)):
        return True
    # Digits, symbols, or a run of very few distinct characters (`123456789012`, `aaaaaaaaaaaa`).
    return not letters and len(set(plain)) <= 10 or len(set(plain)) <= 3


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Why a password is refused (empty when it is acceptable). Length counts characters
    of the NFC form (`ễ` is one), as a person counts them."""
    password = unicodedata.normalize("NFC", password)
    problems = []
    if not password.strip():
        problems.append("Password must not be only spaces.")
        return problems
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must have at most {MAX_LENGTH} characters.")
    if _guessable(password):
        problems.append("Password is too common.")
    if username and _plain(password) == _plain(unicodedata.normalize("NFC", username)):
        problems.append("Password must not be the username.")
    return problems
