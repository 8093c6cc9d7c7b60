"""Safe, streaming readers for uploaded spreadsheets: xlsx, CSV and JSON lines.

Everything here reads a binary file object and yields ``(row_number, cells)`` one row
at a time, so a million-row file never sits in memory. Hostile files are refused
before any parsing: an xlsx is a zip whose declared sizes and part count are checked
first (a 10 MB upload may claim to expand to gigabytes), and every XML part is parsed
with defusedxml's guards (entity declarations and external references refused): the
workbook's parts by openpyxl through defusedxml, the sheet by expat with the same hooks.
A file that cannot be read raises ``FileRejected`` with a message for a person.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

MAX_XLSX_EXPANDED = 100 * 1024 * 1024  # bytes, all parts together
MAX_XLSX_PARTS = 2000
MAX_XLSX_RATIO = 200  # a part compressing better than this is a bomb, not a sheet
MAX_CELL_CHARS = 32_767  # Excel's own limit per cell
MAX_COLUMNS = 200

XLSX_MAGIC = b"PK\x03\x04"
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


class FileRejected(ValueError):
    """The file as a whole cannot be read; nothing in it is imported."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


def _xml_is_defused() -> bool:
    import openpyxl

    return bool(getattr(openpyxl, "DEFUSEDXML", False))


# ---------------------------------------------------------------- what kind of file


def sniff(head: bytes) -> str:
    """``"xlsx"``, ``"xls"`` (refused: the old binary format), ``"jsonl"`` or ``"text"``
    from the first bytes of a file."""
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "jsonl"
    return "text"


def _peek(stream: IO[bytes], size: int = 4096) -> bytes:
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


# ---------------------------------------------------------------- xlsx


def check_xlsx_zip(stream: IO[bytes]) -> zipfile.ZipFile:
    """Open the zip and refuse it, before any XML is parsed, when its parts would expand
    beyond ``MAX_XLSX_EXPANDED``, when it has too many parts, or when a part's
    compression ratio betrays a bomb. The declared sizes bind: zipfile stops reading
    a part at its declared size and fails its checksum when the data runs on."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected(f"The file is not a readable xlsx workbook ({exc}).") from exc
    infos = archive.infolist()
    if len(infos) > MAX_XLSX_PARTS:
        raise FileRejected(f"The workbook has {len(infos)} parts; at most {MAX_XLSX_PARTS} are accepted.", 413)
    expanded = sum(i.file_size for i in infos)
    if expanded > MAX_XLSX_EXPANDED:
        raise FileRejected(f"The workbook would expand to {expanded // (1024 * 1024)} MB; "
                           f"at most {MAX_XLSX_EXPANDED // (1024 * 1024)} MB are accepted.", 413)
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileRejected("The workbook is encrypted (password-protected); save it without a password.")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
            raise FileRejected(f"The part {info.filename} is compressed {info.file_size // max(info.compress_size, 1)}"
                               f" times; refused as a zip bomb.", 413)
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/worksheets/") for n in names):
        raise FileRejected("The file is a zip archive but not an xlsx workbook.")
    return archive


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number


def merged_ranges(archive: zipfile.ZipFile, part: str) -> list[tuple[int, int, int, int]]:
    """``(min_row, min_col, max_row, max_col)`` of every merged range of a sheet part.

    Read-only openpyxl does not report merged cells (they come back as one value and
    blanks), so the sheet's bytes are scanned for ``<mergeCell>`` in chunks: memory
    stays flat whatever the sheet's size."""
    found: list[tuple[int, int, int, int]] = []
    tail = b""
    with archive.open(part) as raw:
        while chunk := raw.read(1 << 20):
            data = tail + chunk
            cut = max(0, len(data) - 200)  # a tag split across chunks is completed next time
            for match in _MERGE_REF.finditer(data, 0, cut) if cut else ():
                c1, r1, c2, r2 = match.groups()
                found.append((int(r1), _column_number(c1), int(r2 or r1), _column_number(c2 or c1)))
            tail = data[cut:]
        for match in _MERGE_REF.finditer(tail):
            c1, r1, c2, r2 = match.groups()
            found.append((int(r1), _column_number(c1), int(r2 or r1), _column_number(c2 or c1)))
    return found


def iter_xlsx(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    """The first worksheet's rows as values (formulas give their saved result, never
    evaluated; a formula with no saved result is empty). Dates come back as datetimes
    when the cell is formatted as a date. Raises FileRejected for a bad workbook, and
    for merged cells (unmerge them and fill each cell).

    openpyxl's own read-only worksheet is not used: it reads the sheet's stored
    dimension, which parses the whole sheet a second time when the dimension comes
    after the data, and then trusts it, so a wrong dimension silently drops rows. Its
    reader pieces are used instead, with the same defused XML parsing."""
    if not _xml_is_defused():
        # openpyxl falls back to the standard library's XML parser when defusedxml is
        # missing or OPENPYXL_DEFUSEDXML=False; refuse rather than parse unprotected.
        raise FileRejected("xlsx reading is disabled: defusedxml is not in use (OPENPYXL_DEFUSEDXML).", 503)
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    archive = check_xlsx_zip(stream)
    stream.seek(0)
    try:
        reader = ExcelReader(stream, read_only=True, keep_vba=False, data_only=True, keep_links=False)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        parts = [rel.target for _, rel in reader.parser.find_sheets()
                 if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - defusedxml's, zipfile's and the parser's errors all mean "bad file"
        raise FileRejected(f"The workbook cannot be read safely ({_reason(exc)}).") from exc
    if not parts:
        raise FileRejected("The workbook has no worksheet.")
    part = parts[0].lstrip("/")
    try:
        merged = [m for m in merged_ranges(archive, part) if (m[0], m[1]) != (m[2], m[3])]
    except Exception as exc:  # noqa: BLE001 - a corrupt part (bad header, checksum, deflate data): found by
        # tests/imports/test_import_fuzz.py, it escaped as zipfile's own error
        raise FileRejected(f"The sheet cannot be read safely ({_reason(exc)}).") from exc
    if merged:
        raise FileRejected(f"The sheet has {len(merged)} merged cell range(s), the first at row {merged[0][0]}; "
                           f"unmerge them and fill every cell.")
    wb = reader.wb
    try:
        with reader.archive.open(part) as source:
            yield from _sheet_rows(source, list(reader.shared_strings), set(wb._date_formats),
                                   set(wb._timedelta_formats), wb.epoch)
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt or hostile sheet, whatever the parser raises
        raise FileRejected(f"The sheet cannot be read safely ({_reason(exc)}).") from exc


# Element names as expat reports them with namespace_separator="}".
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_ROW, _NS_CELL, _NS_VALUE, _NS_INLINE, _NS_TEXT = (_MAIN_NS + n for n in ("row", "c", "v", "is", "t"))


def _column_index(reference: str) -> int:
    number = 0
    for ch in reference:
        if "A" <= ch <= "Z":
            number = number * 26 + (ord(ch) - 64)
        else:
            break
    return number


def _sheet_rows(source: IO[bytes], strings: list[str], date_styles: set[int], duration_styles: set[int],
                epoch) -> Iterator[tuple[int, list[Any]]]:
    """Rows of a worksheet part as values, a few rows in memory at a time.

    Read with expat's callbacks straight into row lists (ElementTree's pull parser, on
    which defusedxml's iterparse is built, calls half a dozen Python functions per XML
    element: most of the reading time of a large roster). The guards are defusedxml's
    own, set on the same expat hooks: entity declarations and external references are
    refused. The typing rules are openpyxl's: shared and inline strings, numbers,
    booleans, errors as their text, and numbers in a date or duration format as
    datetimes or timedeltas; a formula gives its saved value, never evaluated."""
    from xml.parsers import expat

    from defusedxml import EntitiesForbidden, ExternalReferenceForbidden
    from openpyxl.utils.datetime import from_excel

    done: list[tuple[int, list[Any]]] = []
    row_number = 0
    values: list[Any] | None = None  # the open row's cells
    in_cell = skipping = in_inline = False
    kind = style = value_text = None
    inline_parts: list[str] | None = None
    collecting: list[str] | None = None  # the text of an open <v> or inline <t>

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row_number, values, in_cell, skipping, in_inline, kind, style, value_text, inline_parts, collecting
        if name == _NS_CELL:
            if values is None or skipping:
                return
            ref = attrs.get("r")
            column = _column_index(ref) if ref else len(values) + 1
            if column > MAX_COLUMNS:
                skipping = True  # the rest of the row is ignored
                return
            if column > len(values) + 1:
                values.extend([None] * (column - 1 - len(values)))
            in_cell, kind, style, value_text, inline_parts = True, attrs.get("t", "n"), attrs.get("s"), None, None
        elif name == _NS_ROW:
            reference = attrs.get("r")
            row_number = int(reference) if reference and reference.isdigit() else row_number + 1
            values, skipping = [], False
        elif in_cell:
            if name == _NS_VALUE:
                collecting = []
            elif name == _NS_INLINE:
                in_inline, inline_parts = True, []
            elif name == _NS_TEXT and in_inline:
                collecting = []

    def end(name: str) -> None:
        nonlocal values, in_cell, in_inline, value_text, collecting
        if name == _NS_CELL:
            if in_cell:
                values.append(_cell_value(kind, style, value_text, inline_parts))
                in_cell = False
        elif name == _NS_ROW:
            if values is not None:
                done.append((row_number, values))
                values = None
        elif collecting is not None:
            if name == _NS_VALUE:
                if value_text is None:
                    value_text = "".join(collecting)
                collecting = None
            elif name == _NS_TEXT:
                inline_parts.append("".join(collecting))
                collecting = None
        elif name == _NS_INLINE:
            in_inline = False

    def text(data: str) -> None:
        if collecting is not None:
            collecting.append(data)

    def _cell_value(kind, style, text, inline_parts) -> Any:
        if kind == "inlineStr":
            return "".join(inline_parts) if inline_parts is not None else None
        if not text:
            return None
        if kind == "s":
            return strings[int(text)]
        if kind == "n":
            value = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
            if style is not None and (int(style) in date_styles or int(style) in duration_styles):
                value = from_excel(value, epoch, timedelta=int(style) in duration_styles)
            return value
        if kind == "b":
            return text == "1"
        return text  # "str" (a formula's text result), "e" (an error such as #VALUE!), "d" (ISO date)

    def forbid_entity(name, is_parameter, value, base, sysid, pubid, notation):
        raise EntitiesForbidden(name, value, base, sysid, pubid, notation)

    def forbid_unparsed_entity(name, base, sysid, pubid, notation):
        raise EntitiesForbidden(name, None, base, sysid, pubid, notation)

    def forbid_external(context, base, sysid, pubid):
        raise ExternalReferenceForbidden(context, base, sysid, pubid)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    parser.EntityDeclHandler = forbid_entity
    parser.UnparsedEntityDeclHandler = forbid_unparsed_entity
    parser.ExternalEntityRefHandler = forbid_external
    while chunk := source.read(1 << 16):
        parser.Parse(chunk, False)
        if done:
            yield from done
            done.clear()
    parser.Parse(b"", True)
    yield from done


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


# ---------------------------------------------------------------- text: CSV and JSON lines


def detect_encoding(stream: IO[bytes]) -> str:
    """The encoding of a text file as Vietnamese Excel saves it: a byte-order mark says
    UTF-8 or UTF-16; otherwise UTF-8 when every byte decodes as UTF-8 (checked in
    chunks, never the whole file in memory), else Windows-1258."""
    start = stream.tell()
    head = stream.read(4)
    stream.seek(start)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1258"
    finally:
        stream.seek(start)


def _text(stream: IO[bytes]) -> tuple[io.TextIOWrapper, str]:
    encoding = detect_encoding(stream)
    return io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict"), encoding


def _delimiter(first_line: str) -> str:
    # Excel's "Unicode text" is tab-separated; Vietnamese-locale Excel uses ';' for CSV.
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_csv(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    """CSV rows (header first) as lists of strings, numbered as a spreadsheet shows
    them. Text in Windows-1258 is normalised to composed Unicode (NFC), since that code
    page spells most Vietnamese letters with combining tone marks."""
    text, encoding = _text(stream)
    try:
        first = text.readline()
        if "\x00" in first:
            raise FileRejected("The file is binary, not CSV text.")
        reader = csv.reader(itertools.chain([first], text), delimiter=_delimiter(first))
        compose = encoding == "cp1258"
        number = 0
        for number, cells in enumerate(reader, start=1):  # noqa: B007 - number is reported on error
            if compose:
                cells = [unicodedata.normalize("NFC", c) for c in cells]
            yield number, cells[:MAX_COLUMNS]
    except UnicodeDecodeError as exc:
        raise FileRejected(f"The file is not text in a known encoding (byte {exc.start}).") from exc
    except csv.Error as exc:
        raise FileRejected(f"Unreadable CSV after row {number}: {exc}.") from exc
    finally:
        text.detach()


def iter_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """JSON lines: one object per line, numbered by line. A line that is not a JSON
    object comes back as a string saying why, so the caller reports it by row."""
    text, _ = _text(stream)
    try:
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield number, f"Not valid JSON: {exc.msg} (column {exc.colno})."
                continue
            except RecursionError:  # brackets nested thousands deep (found by tests/imports/test_import_fuzz.py)
                yield number, "Not valid JSON: nested too deeply."
                continue
            yield number, value if isinstance(value, dict) else "Each line must be a JSON object."
    except UnicodeDecodeError as exc:
        raise FileRejected(f"The file is not text in a known encoding (byte {exc.start}).") from exc
    finally:
        text.detach()


def iter_table(stream: IO[bytes], allowed: tuple[str, ...] = ("xlsx", "csv")) -> Iterator[tuple[int, list[Any]]]:
    """Rows of a spreadsheet, header first, whatever its format among ``allowed``."""
    kind = sniff(_peek(stream))
    if kind == "xls":
        raise FileRejected("Old Excel 97–2003 (.xls) files are not accepted; save the file as .xlsx.")
    if kind == "xlsx":
        if "xlsx" not in allowed:
            raise FileRejected("This connector reads CSV text, not an xlsx workbook.")
        return iter_xlsx(stream)
    if "csv" not in allowed:
        raise FileRejected("The file is not an xlsx workbook.")
    return iter_csv(stream)


# ---------------------------------------------------------------- cells


def cell_text(value: Any) -> str:
    """A cell as trimmed text (numbers without a spurious '.0')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()[:MAX_CELL_CHARS]
