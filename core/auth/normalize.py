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
