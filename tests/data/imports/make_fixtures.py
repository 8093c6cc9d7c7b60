"""Makes the LibreOffice-saved fixtures of tests/imports/test_import_readers.py (run it by hand;
the outputs are committed so the tests need no LibreOffice):

    python tests/data/imports/make_fixtures.py   # needs soffice (Debian libreoffice-calc-nogui)

Each sheet is written as flat ODS (real date cells, a formula with its saved value,
numbers typed as text, merged cells) and converted by LibreOffice headless to xlsx and
to CSV as Vietnamese users save them.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
HEADER = ["code", "full_name", "unit_code", "position_code", "manager_code", "is_leader", "salary_coefficient",
          "start_date", "end_date", "username", "email", "roles"]


def cell(value) -> str:
    if isinstance(value, tuple):
        kind, v = value[0], (value[1] if len(value) > 1 else None)
        if kind == "date":
            return (f'<table:table-cell table:style-name="ce1" office:value-type="date" office:date-value="{v}">'
                    f'<text:p>{v}</text:p></table:table-cell>')
        if kind == "formula":
            return (f'<table:table-cell table:formula="of:={escape(v)}" office:value-type="float" '
                    f'office:value="{value[2]}"><text:p>{value[2]}</text:p></table:table-cell>')
        if kind == "merged":
            return (f'<table:table-cell table:number-rows-spanned="{value[2]}" table:number-columns-spanned="1" '
                    f'office:value-type="string"><text:p>{escape(v)}</text:p></table:table-cell>')
        if kind == "covered":
            return "<table:covered-table-cell/>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
    if value in (None, ""):
        return "<table:table-cell/>"
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def fods(rows) -> str:
    body = "".join("<table:table-row>" + "".join(cell(c) for c in row) + "</table:table-row>" for row in rows)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
            'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
            'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" '
            'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" office:version="1.2" '
            'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
            '<office:automatic-styles><number:date-style style:name="N37"><number:day number:style="long"/>'
            '<number:text>/</number:text><number:month number:style="long"/><number:text>/</number:text>'
            '<number:year number:style="long"/></number:date-style>'
            '<style:style style:name="ce1" style:family="table-cell" style:data-style-name="N37"/>'
            '</office:automatic-styles>'
            f'<office:body><office:spreadsheet><table:table table:name="Dữ liệu">{body}</table:table>'
            '</office:spreadsheet></office:body></office:document>')


STAFF = [HEADER,
         ["LO001", "Lê Thị Hồng Nhung", "AG-P1", "CV", "", 1, ("formula", "2+0.34", 2.34), ("date", "2025-03-15"),
          "", "", "", ""],
         ["LO002", "Phạm Quốc Việt", "AG-P1", "KT", "LO001", "0", "3,00", "01/04/2025", "", "", "", ""],
         ["LO003", "Đặng Văn Ất", "AG-P2", "CV", "LO001", 0, 4.4, 45800, "", "", "", ""]]
MERGED = [HEADER,
          ["LO001", "Lê Thị Hồng Nhung", ("merged", "AG-P1", 2), "CV", "", 1, 2.34, "", "", "", "", ""],
          ["LO002", "Phạm Quốc Việt", ("covered",), "KT", "", 0, 3.0, "", "", "", "", ""]]


def convert(name: str, rows, to: str, filter_options: str = "") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"{name}.fods"
        source.write_text(fods(rows), encoding="utf-8")
        target = f"{to}:Text - txt - csv (StarCalc):{filter_options}" if filter_options else to
        subprocess.run(["soffice", "--headless", "--convert-to", target, "--outdir", tmp, str(source)],
                       check=True, capture_output=True, timeout=120)
        ext = to.split(":")[0]
        (HERE / f"{name}.{ext}").write_bytes((Path(tmp) / f"{name}.{ext}").read_bytes())


if __name__ == "__main__":
    convert("lo_staff", STAFF, "xlsx")
    convert("lo_merged", MERGED, "xlsx")
    # Text CSV filter options: separator 59 (;), quote 34, charset 76 = UTF-8;
    # LibreOffice writes no byte-order mark, as Excel's "CSV UTF-8" does not either on Linux.
    convert("lo_staff", STAFF, "csv", "59,34,76,1")
