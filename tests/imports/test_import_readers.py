"""The safe readers and the connectors' parsing, without a database: files saved by
LibreOffice (tests/data/imports, made by make_fixtures.py there) and by openpyxl,
hostile files (zip and XML bombs, too many parts), and the cell converters."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from core.imports import values as v
from core.imports.readers import MAX_XLSX_PARTS, FileRejected, check_xlsx_zip, iter_csv, iter_xlsx
from core.plugins.testing import check_import_connector
from core.text import LINE_REASON
from plugins.imports import BUILT_IN, CatalogueXlsx, OneStopDossiers, StaffCsv, StaffXlsx, WorkItemsCsv

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"
HEADER = ["code", "full_name", "unit_code", "position_code", "manager_code", "is_leader", "salary_coefficient",
          "start_date", "end_date", "username", "email", "roles"]


def parse(connector, data: bytes) -> dict:
    return connector.parse(data, connector.load_settings({}))


def workbook_bytes(rows, merge: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    if merge:
        wb.active.merge_cells(merge)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def replace_part(data: bytes, part: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == part else src.read(info.filename))
    return out.getvalue()


# ---------------------------------------------------------------- real spreadsheets


def test_libreoffice_xlsx_dates_formulas_and_text_numbers():
    result = parse(StaffXlsx(), (DATA / "lo_staff.xlsx").read_bytes())
    assert result["errors"] == []
    rows = {r["values"]["code"]: r["values"] for r in result["rows"]}
    assert rows["LO001"]["salary_coefficient"] == Decimal("2.34")  # a formula: its saved value, not evaluated
    assert rows["LO001"]["start_date"] == date(2025, 3, 15)  # a real date cell
    assert rows["LO001"]["is_leader"] is True and rows["LO001"]["full_name"] == "Lê Thị Hồng Nhung"
    assert rows["LO002"]["salary_coefficient"] == Decimal("3.00")  # "3,00" typed as text
    assert rows["LO002"]["start_date"] == date(2025, 4, 1)  # "01/04/2025" typed as text
    assert rows["LO003"]["start_date"] == v.EXCEL_EPOCH + (date(2025, 5, 23) - v.EXCEL_EPOCH)  # a serial number
    assert [r["row"] for r in result["rows"]] == [2, 3, 4]


def test_libreoffice_csv_semicolons_without_bom():
    result = parse(StaffCsv(), (DATA / "lo_staff.csv").read_bytes())
    assert result["errors"] == [] and len(result["rows"]) == 3
    assert result["rows"][0]["values"]["start_date"] == date(2025, 3, 15)


@pytest.mark.parametrize("data", [
    pytest.param((DATA / "lo_merged.xlsx").read_bytes(), id="libreoffice"),
    pytest.param(workbook_bytes([HEADER, ["A", "B", "U", "", "", 0, 2, "", "", "", "", ""],
                                 ["C", "D", "", "", "", 0, 2, "", "", "", "", ""]], merge="C2:C3"), id="openpyxl"),
])
def test_merged_cells_are_refused_with_their_row(data):
    result = parse(StaffXlsx(), data)
    assert result["rows"] == [] and len(result["errors"]) == 1
    assert "merged" in result["errors"][0]["message"] and "row 2" in result["errors"][0]["message"]


def test_formula_without_a_saved_value_is_empty_never_evaluated():
    data = workbook_bytes([HEADER, ["A1", "=1+1", "U", "", "", "", "=2+0.34", "", "", "", "", ""]])
    result = parse(StaffXlsx(), data)
    assert result["errors"] == [{"row": 2, "column": "full_name", "message": "Required."}]


def test_openpyxl_text_dates_numbers_and_wrong_types():
    rows = [HEADER, ["A1", "Tên", "U", "", "", "có", "2,34", "2025-01-31", "31/12/2025", "", "a@b.vn", "manager;employee"],
            ["A2", "Tên", "U", "", "", "perhaps", "abc", "32/01/2025", "", "", "not-mail", "boss"]]
    result = parse(StaffXlsx(), workbook_bytes(rows))
    assert result["rows"][0]["values"]["roles"] == ["manager", "employee"]
    assert {(e["row"], e["column"]) for e in result["errors"]} == {
        (3, "is_leader"), (3, "salary_coefficient"), (3, "start_date"), (3, "email"), (3, "roles")}


def test_header_any_order_extra_columns_warn_and_missing_is_an_error():
    result = parse(CatalogueXlsx(), workbook_bytes([
        ["norm_minutes", "GROUP", " code ", "name", "unit_of_measure", "ghi chú"], [30, "b", "X1", "Tên", "việc", "x"]]))
    assert result["errors"] == [] and result["rows"][0]["values"]["group"] == "B"
    assert result["warnings"] == [{"row": 1, "column": "ghi chú", "message": "Unknown column (ignored)."}]
    missing = parse(CatalogueXlsx(), workbook_bytes([["code", "name"], ["X", "Y"]]))
    assert {e["column"] for e in missing["errors"]} == {"group", "unit_of_measure", "norm_minutes"}
    assert missing["rows"] == []


# ---------------------------------------------------------------- hostile files


def test_xlsx_expanding_beyond_100_mb_is_refused_before_parsing():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (101 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(FileRejected) as info:
        check_xlsx_zip(io.BytesIO(out.getvalue()))
    assert info.value.status == 413 and "100 MB" in info.value.message
    result = parse(StaffXlsx(), out.getvalue())
    assert result["rows"] == [] and "expand" in result["errors"][0]["message"]


def test_xlsx_with_too_many_parts_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(MAX_XLSX_PARTS + 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", "")
    with pytest.raises(FileRejected, match="parts"):
        check_xlsx_zip(io.BytesIO(out.getvalue()))


def test_a_small_part_compressed_a_thousand_times_is_a_bomb():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b" " * (20 * 1024 * 1024))
    with pytest.raises(FileRejected, match="bomb"):
        check_xlsx_zip(io.BytesIO(out.getvalue()))


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">'.encode() for i in range(1, 10))
          + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
          + b'<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml"])
def test_xml_bombs_are_refused_by_defusedxml(part):
    assert openpyxl.DEFUSEDXML is True
    data = replace_part(workbook_bytes([HEADER]), part, LAUGHS)
    result = parse(StaffXlsx(), data)
    assert result["rows"] == [] and len(result["errors"]) == 1
    assert "cannot be read" in result["errors"][0]["message"]


def test_external_entities_are_not_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
           '<c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>').encode()
    data = replace_part(workbook_bytes([HEADER]), "xl/worksheets/sheet1.xml", xxe)
    with pytest.raises(FileRejected):
        list(iter_xlsx(io.BytesIO(data)))


def test_not_a_spreadsheet_and_empty_never_raise():
    for data in (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), b"PK\x03\x04broken zip", b"", b"\xd0\xcf\x11\xe0" + b"\0" * 100):
        result = parse(StaffXlsx(), data)
        assert result["rows"] == [] and result["errors"], data[:8]


# ---------------------------------------------------------------- text encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom"])
def test_csv_unicode_encodings(encoding):
    text = "code,full_name,unit_code\nA1,Nguyễn Thị Ánh,U\n"
    data = (b"\xff\xfe" + text.encode("utf-16-le")) if encoding == "utf-16-le-bom" else text.encode(encoding)
    rows = list(iter_csv(io.BytesIO(data)))
    assert rows[1] == (2, ["A1", "Nguyễn Thị Ánh", "U"])


def test_csv_windows_1258_is_composed_to_nfc():
    # "Việt" as Windows-1258 writes it: ê then a combining dot below.
    data = b"code,full_name,unit_code\nA1,Vi\xea\xf2t,U\n"
    rows = list(iter_csv(io.BytesIO(data)))
    assert rows[1][1][1] == "Việt" and len(rows[1][1][1]) == 4


def test_tab_separated_unicode_text_as_excel_saves_it():
    data = "\ufeffcode\tfull_name\tunit_code\nA1\tTên\tU\n".encode("utf-16")
    assert parse(StaffCsv(), data)["rows"][0]["values"]["full_name"] == "Tên"


def test_multiline_quoted_cells_keep_spreadsheet_row_numbers():
    data = 'code,full_name,unit_code\nA1,"Hai\ndòng",U\nA2,X,\n'.encode()
    result = parse(StaffCsv(), data)
    # The two-line cell is one record, row 2 (and a name of two lines is refused, core/text.py).
    assert result["errors"] == [
        {"row": 2, "column": "full_name", "message": f"Invalid value 'Hai\\ndòng': {LINE_REASON}."},
        {"row": 3, "column": "unit_code", "message": "Required."}]


# ---------------------------------------------------------------- connectors


def test_every_built_in_connector_passes_the_conformance_kit():
    sample = "code,full_name,unit_code\nA1,Tên,U\n".encode()
    for connector in BUILT_IN:
        check_import_connector(connector)
    check_import_connector(StaffCsv(), sample)


def test_work_items_status_done_needs_completion_time():
    header = "external_id,employee_code,task_type_code,work_date,status,declared_at\n"
    result = parse(WorkItemsCsv(), (header + "E1,NV,TT,2026-10-05,done,2026-10-05 07:00\n").encode())
    assert result["errors"] == [{"row": 2, "column": "completed_at", "message": "Required when the status is done."}]
    ok = parse(WorkItemsCsv(), (header + "E1,NV,TT,05/10/2026,,2026-10-05 07:00\n").encode())
    moment = ok["rows"][0]["values"]["declared_at"]
    assert moment == datetime(2026, 10, 5, 0, 0, tzinfo=UTC)  # 07:00 in Hồ Chí Minh


def test_dossiers_json_lines_errors_by_line_and_settings():
    connector = OneStopDossiers()
    lines = [json.dumps({"dossier_code": "D1", "procedure_code": "P1", "handler_code": "E1",
                         "received_at": "2026-10-01T08:00:00+07:00", "result": "Rút hồ sơ"}),
             "[1, 2]", "{bad json", json.dumps({"dossier_code": "D3", "procedure_code": "P1", "handler_code": "E1",
                                                "received_at": "2026-10-02 08:00", "due_at": "2026-10-01 08:00"})]
    settings = connector.load_settings({"task_type_code": "HCC", "external_id_prefix": "hcc-"})
    result = connector.parse("\n".join(lines).encode(), settings)
    assert result["rows"][0]["values"]["status"] == "cancelled"
    assert result["rows"][0]["values"]["task_type_code"] == "HCC"
    assert result["rows"][0]["values"]["external_id"] == "hcc-D1"
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(2, None), (3, None), (4, "due_at")]


# ---------------------------------------------------------------- converters


def test_converters():
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    assert v.to_date("5/1/2026") == date(2026, 1, 5) and v.to_date("2026-01-05 00:00:00") == date(2026, 1, 5)
    assert v.to_date(45658) == date(2025, 1, 1)
    for bad in ("2026-02-30", "hôm nay", 0, True):
        with pytest.raises(ValueError):
            v.to_date(bad)
    assert v.to_decimal("2,34") == Decimal("2.34") and v.to_decimal(" 1 000 ") == Decimal("1000")
    for bad in ("NaN", "Infinity", "1,2,3", True):
        with pytest.raises(ValueError):
            v.to_decimal(bad)
    with pytest.raises(ValueError, match="at most"):
        v.to_int("6", 1, 5)
    with pytest.raises(ValueError, match="whole"):
        v.to_int("1.5")
    assert v.to_int("²" if False else "3") == 3
    with pytest.raises(ValueError):
        v.to_int("²")
    assert v.to_bool("Có") is True and v.to_bool("không") is False and v.to_bool(0) is False
    assert v.to_levels("2:1.0; 1:0,8") == [{"level": 1, "coefficient": 0.8}, {"level": 2, "coefficient": 1.0}]
    with pytest.raises(ValueError, match="twice"):
        v.to_levels("1:1;1:2")
    assert v.to_datetime("15/10/2026 08:30", zone) == datetime(2026, 10, 15, 1, 30, tzinfo=UTC)
    assert v.to_datetime("2026-10-15T08:30:00Z", zone) == datetime(2026, 10, 15, 8, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        v.to_code("A B")


def test_a_wrong_stored_dimension_drops_no_rows():
    # Some generators write <dimension ref="A1"/> whatever the sheet holds; openpyxl's
    # read-only sheet would trust it and stop after row 1.
    rows = [HEADER] + [[f"A{i}", "Tên", "U"] + [""] * 9 for i in range(5)]
    data = workbook_bytes(rows)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    sheet = re.sub(rb'<dimension ref="[A-Z0-9:]+" ?/>', b'<dimension ref="A1" />', sheet)  # any writer's spacing
    assert b'<dimension ref="A1" />' in sheet
    result = parse(StaffXlsx(), replace_part(data, "xl/worksheets/sheet1.xml", sheet))
    assert result["errors"] == [] and len(result["rows"]) == 5


def test_blank_rows_and_gaps_in_columns():
    data = workbook_bytes([[], HEADER, ["A1", "Tên", "U"], [], [None, None, None], ["A2", "Tên", "U"]])
    result = parse(StaffXlsx(), data)
    assert [r["row"] for r in result["rows"]] == [3, 6]


def test_repeated_cells_convert_alike_and_errors_repeat_per_row():
    # Converted values are remembered per column for text cells: a repeated bad cell is
    # still an error on every row, and a blank or whitespace cell is still "Required".
    header = ["external_id", "employee_code", "task_type_code", "work_date", "quantity"]
    lines = [header, ["E1", "NV1", "T1", "2026-10-05", "2"], ["E2", "NV1", "T1", "2026-10-05", "2"],
             ["E3", "NV1", "T1", "2026-13-05", "x"], ["E4", "NV1", "T1", "2026-13-05", "x"],
             ["E5", "  ", "T1", "2026-10-05", ""], ["E6", "", "T1", "2026-10-05", ""],
             ["E7", "NV1", "T1", "2026-10-05", "1.5"]]
    result = parse(WorkItemsCsv(), "\n".join(",".join(line) for line in lines).encode())
    assert {(e["row"], e["column"]) for e in result["errors"]} == {
        (4, "work_date"), (4, "quantity"), (5, "work_date"), (5, "quantity"), (6, "employee_code"),
        (7, "employee_code")}
    values = {r["values"]["external_id"]: r["values"] for r in result["rows"]}
    assert values["E1"]["work_date"] == values["E2"]["work_date"] == date(2026, 10, 5)
    assert values["E1"]["quantity"] == Decimal("2") and values["E7"]["quantity"] == Decimal("1.5")
    # Cells that are not text are converted one by one (1, 1.0 and True are one dict key).
    data = workbook_bytes([HEADER, ["A1", True, "U"], ["A2", 1, "U"], ["A3", 1.0, "U"], ["A4", "1", "U"]])
    names = [r["values"]["full_name"] for r in parse(StaffXlsx(), data)["rows"]]
    assert names == ["True", "1", "1", "1"]


def test_nul_characters_are_a_cell_error():
    with pytest.raises(ValueError, match="NUL"):
        v.to_text("a\x00b")


def test_copy_rows_spell_values_as_postgresql_copy_text():
    from core.imports.services import CopyRows

    rows = CopyRows(8, unique=(0,))
    moment = datetime(2026, 10, 5, 1, 30, tzinfo=UTC)
    line = ("a\tb\\c\nd\re", 7, Decimal("1.50"), date(2026, 10, 5), moment, True, None, "Việc")
    expected = "a\\tb\\\\c\\nd\\re\t7\t1.50\t2026-10-05\t2026-10-05T01:30:00+00:00\tt\t\\N\tViệc"
    assert rows.line(line) == expected
    assert rows.line(line) == expected  # the second time from the remembered texts
    assert rows.line(("x", 8, Decimal("2"), date(2026, 10, 6), moment, False, 3, "Việc")).split("\t")[1:7] == [
        "8", "2", "2026-10-06", "2026-10-05T01:30:00+00:00", "f", "3"]


def test_sheet_cells_of_every_kind_read_as_openpyxl_types_them():
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?>'
             b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             b'<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c><c r="B1" t="inlineStr"><is><t>full_name'
             b'</t></is></c><c r="C1" t="inlineStr"><is><t>unit_code</t></is></c></row>'
             b'<row r="3"><c r="A3" t="inlineStr"><is><r><t>N</t></r><r><t xml:space="preserve">V1</t></r></is></c>'
             b'<c r="B3" t="str"><f>CONCAT("L","an")</f><v>Lan</v></c><c r="C3" t="inlineStr"><is><t>U</t></is></c>'
             b'<c r="D3" t="b"><v>1</v></c><c r="E3" t="e"><v>#VALUE!</v></c><c r="F3"><v>2.5</v></c>'
             b'<c r="G3"><v></v></c></row>'
             b'<row><c t="inlineStr"><is><t>NV2</t></is></c><c t="inlineStr"><is><t>B\xc3\xacnh</t></is></c></row>'
             b'</sheetData></worksheet>')
    data = replace_part(workbook_bytes([["x"]]), "xl/worksheets/sheet1.xml", sheet)
    rows = list(iter_xlsx(io.BytesIO(data)))
    assert rows == [(1, ["code", "full_name", "unit_code"]), (3, ["NV1", "Lan", "U", True, "#VALUE!", 2.5, None]),
                    (4, ["NV2", "Bình"])]
