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


def unmarked(text: str) -> str:
    """Lower case without Vietnamese marks (đ → d), for searches typed on a keyboard that
    has none: "cam ranh" finds "Phường Cam Ranh", "nguyen" finds "Nguyễn"."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))
