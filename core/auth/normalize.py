"""Unicode normalisation of what people type: `nguyễn` arrives as NFC (one code point
per letter with its marks) from most keyboards and as NFD (letter + combining marks)
from others (macOS file names, some Vietnamese input methods). Both look identical, so
usernames, names, search terms and passwords are stored and compared as NFC."""

from __future__ import annotations

import unicodedata


def nfc(text: str | None) -> str | None:
    return None if text is None else unicodedata.normalize("NFC", text)


def login_key(username: str) -> str:
    """The form one account's login attempts are counted under (case does not matter)."""
    return unicodedata.normalize("NFC", username or "").casefold()


# The letters no Unicode decomposition takes to "d": Vietnamese đ/Đ, and the eth ð/Ð
# (U+00F0/U+00D0) that looks the same and that converters from the old Vietnamese
# encodings (TCVN3, VNI) and some keyboards type in its place, so "Ðặng" is found by "dang".
D_LETTERS = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def unmarked(text: str) -> str:
    """Lower case without Vietnamese marks (đ → d), for searches typed on a keyboard that
    has none: "cam ranh" finds "Phường Cam Ranh", "nguyen" finds "Nguyễn"."""
    text = unicodedata.normalize("NFD", text.translate(D_LETTERS).lower())
    return "".join(c for c in text if not unicodedata.combining(c))


# A person's key holds their name and code (200 + 64 characters); the column is wider.
SEARCH_KEY_LENGTH = 300
# Between fields of one key: a search matches within a field, as it did before keys were
# stored ("an nv" does not find "… An" with code "NV…"); nobody types a newline in a box.
_FIELD_BREAK = "\n"


def search_term(text: str | None) -> str:
    """What a search box's text is matched as: unmarked, spaces run together, so "nguyen  van"
    and "Nguyễn Văn" (either Unicode form) both look for "nguyen van"."""
    return " ".join(unmarked(unicodedata.normalize("NFC", text or "")).split())


def search_key(*fields: str | None) -> str:
    """The stored form a row is searched by (its `search_key` column): each field as
    `search_term` reads it, so a `LIKE '%term%'` in SQL matches what Python's folding would."""
    return _FIELD_BREAK.join(search_term(f) for f in fields if f)[:SEARCH_KEY_LENGTH]
