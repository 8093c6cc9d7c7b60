"""Cell converters for imports: what Vietnamese spreadsheets really hold.

Each takes a cell as the reader gives it (str from CSV; str, int, float, datetime or
None from xlsx) and returns the value or raises ValueError with a short reason. Dates
and numbers typed as text are accepted in the usual Vietnamese forms (``15/01/2026``,
``2,34``); an xlsx date column that holds plain numbers is read as Excel serial days.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from core.text import LINE_REASON, breaks_line

EXCEL_EPOCH = date(1899, 12, 30)
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
TRUE = {"1", "true", "yes", "y", "x", "có", "co", "đúng", "dung", "c"}
FALSE = {"0", "false", "no", "n", "không", "khong", "sai", "k", ""}


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_text(value: Any, max_length: int = 300, line: bool = False) -> str:
    """The cell as text; with `line`, one line of visible text (a name: no tab, line break
    or other control character, the API's rule, core/text.py)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if len(text) > max_length:
        raise ValueError(f"longer than {max_length} characters")
    if "\x00" in text:
        raise ValueError("holds a NUL character, which no text column can store")
    if line and breaks_line(text):
        raise ValueError(LINE_REASON)
    return text


_SPACE = re.compile(r"\s")


def to_code(value: Any) -> str:
    text = to_text(value, 64)
    if _SPACE.search(text):
        raise ValueError("a code has no spaces")
    return text


def to_date(value: Any) -> date:
    if value.__class__ is str and len(value) == 10 and value[4] == "-":
        try:
            return date.fromisoformat(value)  # the common case, in C
        except ValueError:
            pass
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel's serial days (a date column saved as numbers)
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError("not a date")
    text = str(value).strip()
    text = text.split(" ")[0].split("T")[0]
    if text.isascii() and text.isdigit() and len(text) == 5:
        return to_date(int(text))  # a serial date that lost its format on the way to CSV
    if text.isascii() and text.isdigit() and len(text) == 8:
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"  # yyyymmdd, as e-office exports write it
    for pattern, order in ((_DMY, (3, 2, 1)), (_YMD, (1, 2, 3))):
        match = pattern.match(text)
        if match:
            y, m, d = (int(match.group(i)) for i in order)
            try:
                return date(y, m, d)
            except ValueError as exc:
                raise ValueError("no such day") from exc
    raise ValueError("not a date (use dd/mm/yyyy or yyyy-mm-dd)")


def to_datetime(value: Any, zone: ZoneInfo) -> datetime:
    """An aware datetime in UTC; times without an offset are in the tenant's zone."""
    if value.__class__ is str:
        try:
            moment = datetime.fromisoformat(value.strip())  # the common case, in C
        except ValueError:
            moment = None
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2958466:
            raise ValueError("not a date and time")
        moment = datetime.combine(EXCEL_EPOCH, time(0, 0)) + timedelta(days=float(value))
        moment = moment.replace(microsecond=0)
    else:
        text = str(value).strip().replace("Z", "+00:00")
        moment = _parse_moment(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _parse_moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = re.match(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$", text)
    if not match:
        raise ValueError("not a date and time (use yyyy-mm-dd hh:mm or dd/mm/yyyy hh:mm)")
    d, m, y, hh, mm, ss = match.groups()
    try:
        return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError as exc:
        raise ValueError("no such moment") from exc


def to_decimal(value: Any, low: Decimal | None = None, high: Decimal | None = None) -> Decimal:
    if value.__class__ is str and "," not in value:
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return _bounded(number, low, high)
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = str(value).strip().replace(" ", "").replace("\u00a0", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # Vietnamese decimal comma: 2,34
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError("not a number") from exc
    if not number.is_finite():
        raise ValueError("not a number")
    return _bounded(number, low, high)


def _bounded(number: Decimal, low: Decimal | None, high: Decimal | None) -> Decimal:
    if low is not None and number < low:
        raise ValueError(f"must be at least {low}")
    if high is not None and number > high:
        raise ValueError(f"must be at most {high}")
    return number


def to_int(value: Any, low: int | None = None, high: int | None = None) -> int:
    if value.__class__ is str and value.isascii() and value.isdigit():
        result = int(value)  # the common case
    else:
        number = to_decimal(value)
        if number != number.to_integral_value():
            raise ValueError("not a whole number")
        result = int(number)
    if low is not None and result < low:
        raise ValueError(f"must be at least {low}")
    if high is not None and result > high:
        raise ValueError(f"must be at most {high}")
    return result


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise ValueError("use 1/0, true/false or có/không")
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError("use 1/0, true/false or có/không")


def to_list(value: Any) -> list[str]:
    """``a;b;c`` (commas accepted too) as a list without blanks or repeats."""
    parts = re.split(r"[;,]", str(value))
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def to_levels(value: Any) -> list[dict]:
    """``1:0.8;2:1.0;3:1.2`` as ``[{"level": 1, "coefficient": 0.8}, ...]`` ordered by level."""
    levels: dict[int, float] = {}
    for part in re.split(r";", str(value)):
        if not part.strip():
            continue
        level, sep, coefficient = part.partition(":")
        if not sep:
            raise ValueError("write levels as level:coefficient;… e.g. 1:0.8;2:1.0")
        lv = to_int(level, 1, 10)
        if lv in levels:
            raise ValueError(f"level {lv} appears twice")
        levels[lv] = float(to_decimal(coefficient, Decimal("0"), Decimal("10")))
    return [{"level": lv, "coefficient": levels[lv]} for lv in sorted(levels)]
