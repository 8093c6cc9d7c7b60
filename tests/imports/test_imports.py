"""Imports and exports on both databases: the pipeline (all or nothing, re-imports change
nothing, dry runs), the built-in connectors through the API and the CLI, templates,
exports with formula escaping, and the admin page."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from core import unit_of_work
from core.audit.models import AuditEvent
from core.auth.models import User
from core.catalogue.models import NormVersion, TaskType
from core.extensions import db
from core.org.models import Employee
from core.tenancy import tenant_context
from core.work.models import WorkItem
from tests.cli.test_cli import run as cli
from tests.work.test_work_support import PASSWORD, build

STAFF_HEADER = ["code", "full_name", "unit_code", "position_code", "manager_code", "is_leader",
                "salary_coefficient", "start_date", "end_date", "username", "email", "roles"]


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    if encoding == "cp1258":
        return to_cp1258(out.getvalue())
    return out.getvalue().encode(encoding)


def to_cp1258(text: str) -> bytes:
    """As Vietnamese Windows saves it: a letter with its vowel mark, then a combining
    tone mark (the code page has no precomposed ễ, ậ…)."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            out += unicodedata.normalize("NFC", parts[:-1]).encode("cp1258") + parts[-1].encode("cp1258")
    return bytes(out)


def staff_rows(n: int = 3) -> list[list]:
    rows = [STAFF_HEADER]
    rows.append(["NV001", "Nguyễn Thị Ánh", "AG-P1", "CV", "MANAGER", "0", "2,34", "15/01/2025", "", "anh",
                 "anh@example.vn", "employee"])
    for i in range(2, n + 1):
        rows.append([f"NV{i:03d}", f"Trần Văn Bình {i}", "AG-P2", "KT", "NV001", "", "3.0", "2025-02-01", "", "", "", ""])
    return rows


def upload(client, world, connector: str, data: bytes, name: str = "file.xlsx", dry_run: bool = False,
           who: str = "admin"):
    response = client.post(world.url("/imports"), headers=world.h(who), content_type="multipart/form-data",
                           data={"connector": connector, "dry_run": "true" if dry_run else "false",
                                 "file": (io.BytesIO(data), name)})
    return response


def result_of(client, world, response) -> dict:
    assert response.status_code == 202, response.get_json()
    job = client.get(world.url(f"/jobs/{response.get_json()['job_id']}"), headers=world.h("admin")).get_json()
    assert job["status"] == "finished", job
    return job["result"]


@pytest.fixture
def world(clean_app, tmp_path):
    clean_app.config["CONGVU_UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield build(clean_app, "tinh-imp")
    clean_app.config["CONGVU_UPLOAD_DIR"] = None


def count(app, world, model, *where) -> int:
    with app.app_context(), tenant_context(world.tenant_id):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- staff


def test_staff_xlsx_commit_then_reimport_changes_nothing(clean_app, client, world, tmp_path):
    before = count(clean_app, world, Employee)
    data = xlsx(staff_rows(3))
    dry = result_of(client, world, upload(client, world, "staff-xlsx", data, dry_run=True))
    assert dry["errors"] == [] and dry["rows_written"] == 0 and dry["changes"] == {"new": 3, "updated": 0, "unchanged": 0}
    assert count(clean_app, world, Employee) == before
    done = result_of(client, world, upload(client, world, "staff-xlsx", data))
    assert (done["rows_total"], done["rows_valid"], done["rows_written"]) == (3, 3, 3)
    assert count(clean_app, world, Employee) == before + 3
    with clean_app.app_context(), tenant_context(world.tenant_id):
        anh = db.session.scalar(select(Employee).where(Employee.code == "NV001"))
        boss = db.session.scalar(select(Employee).where(Employee.code == "MANAGER"))
        assert anh.manager_id == boss.id and str(anh.salary_coefficient) == "2.34"
        assert anh.user.username == "anh" and anh.user.must_change_password
        two = db.session.scalar(select(Employee).where(Employee.code == "NV002"))
        assert two.manager_id == anh.id and two.position.code == "KT"
        events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import.commit"))
        assert events == 1
    again = result_of(client, world, upload(client, world, "staff-xlsx", data))
    assert again["rows_written"] == 0 and again["changes"] == {"new": 0, "updated": 0, "unchanged": 3}
    changed = staff_rows(3)
    changed[2][1] = "Tên mới"
    third = result_of(client, world, upload(client, world, "staff-xlsx", xlsx(changed)))
    assert third["changes"] == {"new": 0, "updated": 1, "unchanged": 2} and third["rows_written"] == 1
    assert not any((tmp_path / "uploads").rglob("*.xlsx")), "uploads are deleted after the job"


def test_imported_people_and_logins_are_found_without_marks(clean_app, client, world):
    """The writer stores the search key with the name (it writes rows in bulk, past the ORM)."""
    def found(q: str) -> list[str]:
        response = client.get(world.url("/employees"), query_string={"q": q}, headers=world.h("admin"))
        return sorted(e["code"] for e in response.get_json())

    rows = staff_rows(3)
    rows[1][9] = "ánh.nguyễn"
    result_of(client, world, upload(client, world, "staff-xlsx", xlsx(rows)))
    assert found("nguyen thi anh") == ["NV001"] and found("tran van binh") == ["NV002", "NV003"]
    rows[2][1] = "Đỗ Văn Đức"
    changed = result_of(client, world, upload(client, world, "staff-xlsx", xlsx(rows)))
    assert changed["changes"]["updated"] == 1
    assert found("do van duc") == ["NV002"] and found("tran van binh") == ["NV003"]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(User.search_key).where(User.username == "ánh.nguyễn")) == "anh.nguyen"


def test_a_staff_import_that_changes_people_marks_scored_months_stale(clean_app, client, world, clock):
    """New people (or other leaders, units, dates) change leaders' unit results: a staff
    import that writes any marks the months that have scores stale — the nightly job
    recalculates them. A dry run, or an import that changes nothing, marks nothing."""
    from core.scoring.models import ScoredPeriod
    from tests.work.test_work_support import declare

    declare(client, world)  # staff's item of 14 Oct 2026: the month has scores

    def stale() -> bool:
        with clean_app.app_context(), tenant_context(world.tenant_id):
            row = db.session.scalar(select(ScoredPeriod).where(ScoredPeriod.period == "2026-10"))
            return bool(row and row.stale)

    data = xlsx(staff_rows(3))
    result_of(client, world, upload(client, world, "staff-xlsx", data, dry_run=True))
    assert not stale()
    result_of(client, world, upload(client, world, "staff-xlsx", data))
    assert stale()
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.execute(db.update(ScoredPeriod).values(stale=False))
        unit_of_work.commit()
    assert result_of(client, world, upload(client, world, "staff-xlsx", data))["rows_written"] == 0
    assert not stale()


def test_staff_managers_named_before_or_after_and_new_logins(clean_app, client, world):
    rows = [STAFF_HEADER, ["F1", "Phạm Văn Một", "AG-P1", "", "F3"] + [""] * 7,  # the manager comes later
            ["F2", "Phạm Văn Hai", "AG-P1", "", "F1", "", "", "", "", "hai", "", "manager;employee"],
            ["F3", "Phạm Văn Ba", "AG-P1", "", "MANAGER", "1"] + [""] * 6]
    done = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert done["errors"] == [] and done["changes"] == {"new": 3, "updated": 0, "unchanged": 0}
    with clean_app.app_context(), tenant_context(world.tenant_id):
        people = {e.code: e for e in db.session.scalars(select(Employee))}
        assert people["F1"].manager_id == people["F3"].id and people["F2"].manager_id == people["F1"].id
        assert people["F3"].manager_id == people["MANAGER"].id and people["F3"].is_leader is True
        assert people["F2"].user.username == "hai" and people["F2"].user.roles_csv == "employee,manager"
        assert people["F1"].user_id is None and people["F3"].user_id is None
    rows[1][4] = "MANAGER"
    again = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert again["changes"] == {"new": 0, "updated": 1, "unchanged": 2}
    with clean_app.app_context(), tenant_context(world.tenant_id):
        people = {e.code: e for e in db.session.scalars(select(Employee))}
        assert people["F1"].manager_id == people["MANAGER"].id


def test_any_error_writes_nothing_and_reports_row_and_column(clean_app, client, world):
    rows = staff_rows(4)
    rows[2][2] = "NO-SUCH-UNIT"
    rows[3][0], rows[3][4] = "NV001", ""  # duplicate of row 2
    rows[4][7] = "31/02/2025"
    before = count(clean_app, world, Employee)
    result = result_of(client, world, upload(client, world, "staff-xlsx", xlsx(rows)))
    assert result["rows_written"] == 0 and result["rows_total"] == 4 and result["rows_valid"] == 1
    found = {(e["row"], e["column"]) for e in result["errors"]}
    assert {(3, "unit_code"), (4, "code"), (5, "start_date")} <= found
    assert count(clean_app, world, Employee) == before


def test_manager_cycle_and_unknown_manager_are_refused(clean_app, client, world):
    rows = [STAFF_HEADER, ["A1", "A", "AG-P1", "", "B1"] + [""] * 7, ["B1", "B", "AG-P1", "", "A1"] + [""] * 7,
            ["C1", "C", "AG-P1", "", "ZZZ"] + [""] * 7]
    result = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    messages = {(e["row"], e["message"]) for e in result["errors"]}
    assert any(row == 4 and "ZZZ" in m for row, m in messages)
    assert count(clean_app, world, Employee, Employee.code.in_(["A1", "B1", "C1"])) == 0
    rows = rows[:3]
    result = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert any("cycle" in e["message"] for e in result["errors"])


def test_username_of_someone_else_is_an_error(clean_app, client, world):
    rows = staff_rows(1)
    rows[1][9] = "staff"  # the login of an existing person
    result = result_of(client, world, upload(client, world, "staff-xlsx", xlsx(rows)))
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(2, "username")]
    assert count(clean_app, world, User, User.username == "anh") == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258"])
def test_staff_csv_in_every_encoding_vietnamese_excel_uses(clean_app, client, world, encoding):
    rows = staff_rows(2)
    data = csv_bytes(rows, encoding)
    result = result_of(client, world, upload(client, world, "staff-csv", data, "s.csv"))
    assert result["errors"] == [], result["errors"]
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(Employee.full_name).where(Employee.code == "NV001")) == "Nguyễn Thị Ánh"


def test_semicolon_csv_with_extra_column_warns(clean_app, client, world):
    rows = [r + ["x"] for r in staff_rows(1)]
    rows[0][-1] = "ghi_chu"
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    result = result_of(client, world, upload(client, world, "staff-csv", out.getvalue().encode(), "s.csv"))
    assert result["errors"] == [] and result["rows_written"] == 1
    assert result["warnings"] == [{"row": 1, "column": "ghi_chu", "message": "Unknown column (ignored)."}]


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize("label,data,needle", [
    ("not a spreadsheet", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, None),
    ("empty", b"", "empty"),
    ("old xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".xls"),
    ("a zip that is not a workbook", None, "not an xlsx"),
    ("missing header column", b"code,full_name\nA,B\n", "header"),
    ("header only", ",".join(STAFF_HEADER).encode(), None),
])
def test_bad_files_get_a_clear_error_and_write_nothing(clean_app, client, world, label, data, needle):
    name = "bad.csv" if label in ("missing header column", "header only") else "bad.xlsx"
    if data is None:
        import zipfile

        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("hello.txt", "hi")
        data = out.getvalue()
    before = count(clean_app, world, Employee)
    result = result_of(client, world, upload(client, world, "staff-xlsx", data, name))
    assert result["rows_written"] == 0
    if label == "header only":
        assert result["rows_total"] == 0 and result["errors"] == []
    else:
        assert result["errors"], label
        if needle:
            assert any(needle in e["message"] for e in result["errors"]), result["errors"]
    assert count(clean_app, world, Employee) == before


def test_a_text_file_named_xlsx_is_refused_as_not_excel(clean_app, client, world):
    before = count(clean_app, world, Employee)
    response = upload(client, world, "staff-xlsx", b"code,full_name\nA,B\n", "danh-sach.xlsx")
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "not_an_excel_file"
    assert "not an Excel workbook" in body["errors"]["file"][0]
    # An API caller asking for Vietnamese gets the same error in Vietnamese.
    vietnamese = client.post(world.url("/imports"), headers={**world.h("admin"), "Accept-Language": "vi"},
                             content_type="multipart/form-data",
                             data={"connector": "staff-xlsx", "file": (io.BytesIO(b"a,b\n"), "x.xlsx")})
    assert vietnamese.status_code == 422
    assert vietnamese.get_json()["errors"]["file"] == ["Tệp có đuôi .xlsx nhưng không phải tệp Excel: đó là văn bản "
                                                       "thuần. Hãy mở bằng Excel và lưu thành tệp Excel (.xlsx), hoặc "
                                                       "tải lên bằng loại dữ liệu đọc tệp CSV."]
    assert count(clean_app, world, Employee) == before


def test_upload_over_10_mb_is_413(clean_app, client, world):
    response = upload(client, world, "staff-csv", b"a" * (10 * 1024 * 1024 + 10), "big.csv")
    assert response.status_code == 413 and response.get_json()["code"] == "too_large"


def test_unwritable_upload_folder_is_a_clear_503(clean_app, client, world, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    clean_app.config["CONGVU_UPLOAD_DIR"] = str(blocker)
    response = upload(client, world, "staff-xlsx", xlsx(staff_rows(1)))
    assert response.status_code == 503 and response.get_json()["code"] == "upload_folder_unwritable"


@pytest.mark.parametrize("name", ["..", ".", " . ", "a/..", "x\x01.xlsx"])
def test_an_unusable_file_name_is_a_4xx_naming_the_file(clean_app, client, world, name):
    """`..` used to reach the disk and come back as a 503 blaming the upload folder."""
    response = upload(client, world, "staff-xlsx", xlsx(staff_rows(1)), name=name)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "bad_file_name", body
    assert body["errors"] == {"file": ["The file name is not usable (such as “..”): rename the file and upload it "
                                       "again."]}
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Employee)) == 7  # the world's people only
    uploads = Path(clean_app.config["CONGVU_UPLOAD_DIR"])
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))  # nothing stored


def test_connector_not_enabled_and_roles(clean_app, client, world):
    response = upload(client, world, "products-csv", b"x")
    assert response.status_code == 422 and "connector" in response.get_json()["errors"]
    assert upload(client, world, "staff-xlsx", xlsx(staff_rows(1)), who="staff").status_code == 403
    response = client.post(world.url("/imports"), headers=world.h("admin"), data={"connector": "staff-xlsx"},
                           content_type="multipart/form-data")
    assert response.status_code == 422


# ---------------------------------------------------------------- catalogue, work items, dossiers


CATALOGUE = [["code", "name", "group", "unit_of_measure", "norm_minutes", "product_weight", "complexity_levels",
              "position_codes", "effective_from"],
             ["HC01", "Tiếp nhận hồ sơ", "B", "hồ sơ", "20", "1", "1:0.8;2:1.0;3:1.2", "CV", ""],
             ["HC01", "Tiếp nhận hồ sơ", "B", "hồ sơ", "15", "1", "1:0.8;2:1.0;3:1.2", "CV", "01/01/2027"],
             ["HT01", "Giải quyết hồ sơ hộ tịch", "B", "hồ sơ", "35", "1.2", "", "", ""]]


def test_catalogue_versions_by_effective_date_and_reimport(clean_app, client, world):
    result = result_of(client, world, upload(client, world, "catalogue-xlsx", xlsx(CATALOGUE)))
    assert result["errors"] == [] and result["changes"] == {"new": 2, "updated": 1, "unchanged": 0}
    with clean_app.app_context(), tenant_context(world.tenant_id):
        tt = db.session.scalar(select(TaskType).where(TaskType.code == "HC01"))
        versions = db.session.scalars(select(NormVersion).where(NormVersion.task_type_id == tt.id)
                                      .order_by(NormVersion.effective_from)).all()
        assert [float(v.norm_minutes) for v in versions] == [20, 15]
        assert [p.position.code for p in tt.positions] == ["CV"]
    again = result_of(client, world, upload(client, world, "catalogue-xlsx", xlsx(CATALOGUE)))
    assert again["changes"] == {"new": 0, "updated": 0, "unchanged": 3}


WORK_HEADER = ["external_id", "employee_code", "task_type_code", "title", "work_date", "quantity",
               "complexity_level", "deadline", "declared_at", "completed_at", "reported_at", "status",
               "failed_reviews", "missed_deadlines", "stars", "satisfaction", "role", "priority", "exempt"]


def work_rows() -> list[list]:
    return [WORK_HEADER,
            ["EO-1", "STAFF", "HT01", "Khai sinh", "2026-10-05", "2", "2", "2026-10-06", "2026-10-05 07:45",
             "2026-10-07 10:00", "", "done", "0", "", "5", "5", "lead", "1", "0"],
            ["EO-2", "STAFF", "VB01", "", "05/10/2026", "1", "", "", "", "", "", "", "", "", "", "", "", "", ""],
            ["EO-3", "STAFF2", "HT01", "=HYPERLINK(\"x\")", "2026-10-06", "1", "", "2026-10-09", "",
             "2026-10-08T09:00:00+07:00", "", "done", "1", "", "4", "", "support", "2", "có"]]


def test_imported_results_reported_late_are_flagged_as_on_the_api_path(clean_app, client, world, clock):
    """The tenant reports within 1 working day of completion. Both items were completed
    on Monday 12 Oct 2026: reported Tuesday 13 Oct 16:00 is in time; reported Thursday
    15 Oct 09:00 is after Tuesday's end, so the result was not reported in time (under
    hours-ledger it earns 0). An open item of 5 Oct with no deadline is past its window
    on 14 Oct (due Tuesday 6 Oct). An open item of 5 Oct with its deadline on Wednesday
    7 Oct, the file giving no count of missed deadlines, has missed that one deadline by
    14 Oct (the nightly sweep's rule for open items) and is not reported either. The API
    path's rules (Measure) agree on each, and the sweep changes none of them."""
    from core.work.services.measure import Measure, sweep

    def row(key, completed, reported, status="done", deadline=""):
        return [key, "STAFF", "HT01", "", "2026-10-12" if completed else "2026-10-05", "1", "", deadline,
                "2026-10-12 07:45" if completed else "2026-10-05 07:45", completed, reported, status, "0", "", "5", "",
                "lead", "1", "0"]

    rows = [WORK_HEADER, row("R-ON-TIME", "2026-10-12 10:00", "2026-10-13 16:00"),
            row("R-LATE", "2026-10-12 10:00", "2026-10-15 09:00"), row("R-OPEN", "", "", "planned"),
            row("R-OPEN-DUE", "", "", "planned", "2026-10-07")]
    result = result_of(client, world, upload(client, world, "work-items-csv", csv_bytes(rows), "w.csv"))
    assert result["errors"] == [] and result["rows_written"] == 4
    with clean_app.app_context(), tenant_context(world.tenant_id):
        items = {i.external_id: i for i in db.session.scalars(select(WorkItem))}
        assert {k: (i.not_reported, i.missed_deadlines) for k, i in items.items()} == {
            "R-ON-TIME": (False, 0), "R-LATE": (True, 0), "R-OPEN": (True, 0), "R-OPEN-DUE": (True, 1)}
        measure = Measure.for_dates([i.work_date for i in items.values()])
        assert all(measure.not_reported(i) == i.not_reported for i in items.values())
        assert all(measure.missed_deadlines(i) == i.missed_deadlines for i in items.values())
        sweep()
        unit_of_work.commit()
    again = result_of(client, world, upload(client, world, "work-items-csv", csv_bytes(rows), "w.csv"))
    assert again["changes"] == {"new": 0, "updated": 0, "unchanged": 4}


def test_work_items_csv_import_reimport_and_scores_export(clean_app, client, world):
    data = csv_bytes(work_rows())
    result = result_of(client, world, upload(client, world, "work-items-csv", data, "w.csv"))
    assert result["errors"] == [] and result["rows_written"] == 3
    with clean_app.app_context(), tenant_context(world.tenant_id):
        items = {i.external_id: i for i in db.session.scalars(select(WorkItem))}
        assert items["EO-1"].missed_deadlines == 1 and items["EO-1"].planned is True
        assert items["EO-1"].complexity_coefficient == 1 and items["EO-1"].status == "done"
        assert items["EO-2"].title == "Soạn thảo văn bản hành chính" and items["EO-2"].status == "planned"
        assert items["EO-3"].missed_deadlines == 0 and items["EO-3"].exempt is True
    again = result_of(client, world, upload(client, world, "work-items-csv", data, "w.csv"))
    assert again["changes"] == {"new": 0, "updated": 0, "unchanged": 3}
    # Scores of the month, then the export: Vietnamese headers, formulas escaped.
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.jobs.runner import submit

        assert submit("recalculation", "2026-10", {"period": "2026-10"}, "test").status == "finished"
        staff = db.session.get(Employee, world.ids["staff"])
        staff.full_name = "=cmd|' /C calc'!A0"
        unit_of_work.commit()
    response = client.get(world.url("/exports/scores?period=2026-10&format=csv"), headers=world.h("admin"))
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã cán bộ", "Họ và tên", "Mã đơn vị"]
    assert any(r[1] == "'=cmd|' /C calc'!A0" for r in rows[1:])
    response = client.get(world.url("/exports/scores?period=2026-10"), headers=world.h("auditor"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][7] == "Tổng điểm" and any(r[1] == "'=cmd|' /C calc'!A0" for r in values[1:])
    assert client.get(world.url("/exports/scores"), headers=world.h("admin")).status_code == 422
    assert client.get(world.url("/exports/scores?period=2026-10"), headers=world.h("staff")).status_code == 403


def test_work_items_reimport_updates_only_what_changed_and_dry_run_counts(clean_app, client, world):
    rows = work_rows()
    result_of(client, world, upload(client, world, "work-items-csv", csv_bytes(rows), "w.csv"))
    with clean_app.app_context(), tenant_context(world.tenant_id):
        before = {i.external_id: i.updated_at for i in db.session.scalars(select(WorkItem))}
    rows[2][3] = "Công văn\tđi\\kèm"  # a changed title, with a tab and a backslash (escaped for COPY)
    rows.append(["EO-4", "STAFF2", "VB01", "Tờ trình", "2026-10-07", "1,5"] + [""] * 13)
    data = csv_bytes(rows)
    dry = result_of(client, world, upload(client, world, "work-items-csv", data, "w.csv", dry_run=True))
    assert dry["changes"] == {"new": 1, "updated": 1, "unchanged": 2} and dry["rows_written"] == 0
    assert count(clean_app, world, WorkItem) == 3
    done = result_of(client, world, upload(client, world, "work-items-csv", data, "w.csv"))
    assert done["changes"] == {"new": 1, "updated": 1, "unchanged": 2} and done["rows_written"] == 2
    with clean_app.app_context(), tenant_context(world.tenant_id):
        items = {i.external_id: i for i in db.session.scalars(select(WorkItem))}
        assert items["EO-2"].title == "Công văn\tđi\\kèm" and items["EO-4"].quantity == Decimal("1.50")
        assert items["EO-1"].updated_at == before["EO-1"] and items["EO-3"].updated_at == before["EO-3"]
        assert items["EO-2"].updated_at > before["EO-2"]
    again = result_of(client, world, upload(client, world, "work-items-csv", data, "w.csv"))
    assert again["changes"] == {"new": 0, "updated": 0, "unchanged": 4}


def test_classification_and_bonus_exports(clean_app, client, world):
    from core.bonus.models import BonusAllocation, BonusRun
    from core.classification.models import EmployeeClassification
    from core.timeutil import utcnow

    assert client.get(world.url("/exports/classifications"), headers=world.h("admin")).status_code == 422
    response = client.get(world.url("/exports/bonus?year=2026"), headers=world.h("admin"))
    assert response.status_code == 404 and response.get_json()["code"] == "no_bonus_run"
    with clean_app.app_context(), tenant_context(world.tenant_id):
        db.session.add(EmployeeClassification(
            year=2026, employee_id=world.ids["staff"], unit_id=world.ids["dept"], quota_group="AG:professional",
            total=91.5, task_score=63, months_worked=12, computed_level="HTXS", demoted_by_quota=True,
            override_level="HTT", override_reason="@SUM(1+1)", override_by="manager"))
        run = BonusRun(year=2026, fund=10_000_000, status="finished", requested_by="admin", finished_at=utcnow())
        db.session.add(run)
        db.session.flush()
        db.session.add(BonusAllocation(bonus_run_id=run.id, employee_id=world.ids["staff"], level="HTT",
                                       months_worked=12, amount=10_000_000))
        unit_of_work.commit()
    response = client.get(world.url("/exports/classifications?year=2026&format=csv"), headers=world.h("auditor"))
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][12] == "Xếp loại" and rows[1][0] == "STAFF"
    assert rows[1][8].startswith("HTXS") and rows[1][9] == "Có" and rows[1][12] == "HTT – Hoàn thành tốt nhiệm vụ"
    assert rows[1][11] == "'@SUM(1+1)"
    response = client.get(world.url("/exports/bonus?year=2026"), headers=world.h("admin"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][-1] == "Tiền thưởng (đồng)" and values[1][-1] == 10_000_000
    assert client.get(world.url("/exports/nothing"), headers=world.h("admin")).status_code == 404


def test_work_items_with_unknown_codes_and_closed_period(clean_app, client, world):
    rows = work_rows()
    rows[1][1] = "NOBODY"
    rows[2][2] = "NOTYPE"
    rows[3][6] = "9"
    result = result_of(client, world, upload(client, world, "work-items-csv", csv_bytes(rows), "w.csv"))
    assert {(e["row"], e["column"]) for e in result["errors"]} == {(2, "employee_code"), (3, "task_type_code"),
                                                                     (4, "complexity_level")}
    assert count(clean_app, world, WorkItem) == 0


DOSSIERS = [
    {"dossier_code": "000.00.01.H56-261005-0001", "procedure_code": "HT01", "procedure_name": "Đăng ký khai sinh",
     "handler_code": "STAFF", "received_at": "2026-10-05T08:10:00+07:00", "due_at": "2026-10-07T17:00:00+07:00",
     "finished_at": "2026-10-08T09:00:00+07:00", "result": "Đã trả kết quả", "citizen_rating": 4},
    {"dossier_code": "000.00.01.H56-261005-0002", "procedure_code": "HT01", "procedure_name": "Đăng ký khai tử",
     "handler_code": "STAFF2", "received_at": "2026-10-05 14:00", "due_at": "2026-10-09 17:00",
     "finished_at": None, "result": "", "citizen_rating": None},
]


def test_one_stop_dossiers_as_json_lines_and_csv(clean_app, client, world):
    data = "\n".join(json.dumps(d, ensure_ascii=False) for d in DOSSIERS).encode()
    result = result_of(client, world, upload(client, world, "one-stop-dossiers", data, "d.jsonl"))
    assert result["errors"] == [] and result["rows_written"] == 2
    with clean_app.app_context(), tenant_context(world.tenant_id):
        late = db.session.scalar(select(WorkItem).where(WorkItem.external_id == "dossier:000.00.01.H56-261005-0001"))
        assert late.missed_deadlines == 1 and late.satisfaction == 4 and late.status == "done"
        assert late.employee_id == world.ids["staff"] and late.title.startswith("Đăng ký khai sinh")
        open_one = db.session.scalar(select(WorkItem).where(WorkItem.external_id.like("%0002")))
        assert open_one.status == "in_progress" and open_one.deadline.isoformat() == "2026-10-09"
    header = list(DOSSIERS[0])
    rows = [header] + [["" if d[k] is None else d[k] for k in header] for d in DOSSIERS]
    again = result_of(client, world, upload(client, world, "one-stop-dossiers", csv_bytes(rows), "d.csv"))
    assert again["errors"] == [] and again["changes"]["unchanged"] == 2


def test_a_dossiers_citizen_rating_is_scored_as_satisfaction(clean_app, client, world):
    """Under deadline-buckets (satisfaction 0.2 by default) the one dossier, due 7 Oct and
    handed back 8 Oct (1 day late: 90 points), not rated for quality (100 points), scores
    (90 + 100) ÷ 2 = 95 %; its citizen rating 4 is 4 × 20 = 80 %. Task % = 0.8 × 95 +
    0.2 × 80 = 76 + 16 = 92 → 70 × 0.92 = 64.40."""
    r = client.patch(world.url("/settings"), json={"scoring_variant": {"key": "deadline-buckets", "settings": {}}},
                     headers=world.h("admin"))
    assert r.status_code == 200, r.get_json()
    data = json.dumps(DOSSIERS[0], ensure_ascii=False).encode()
    assert result_of(client, world, upload(client, world, "one-stop-dossiers", data, "d.jsonl"))["errors"] == []
    with clean_app.app_context(), tenant_context(world.tenant_id):
        from core.jobs.runner import submit

        assert submit("recalculation", "2026-10", {"period": "2026-10"}, "test").status == "finished"
    r = client.get(world.url(f"/scores?period=2026-10&employee_id={world.ids['staff']}"), headers=world.h("admin"))
    score = r.get_json()[0]
    assert (score["components"]["task_pct"], score["components"]["satisfaction_pct"]) == (95.0, 80.0)
    assert score["task_score"] == 64.4


# ---------------------------------------------------------------- templates, CLI, page


@pytest.mark.parametrize("connector", ["staff-xlsx", "staff-csv", "catalogue-xlsx", "work-items-csv",
                                       "one-stop-dossiers"])
def test_templates_have_the_connectors_header(clean_app, client, world, connector):
    response = client.get(world.url(f"/imports/templates/{connector}"), headers=world.h("admin"))
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    header = [c.value for c in workbook.worksheets[0][1]]
    from core.imports.templates import HEADERS_VI
    from plugins.imports import BUILT_IN

    columns = list(next(c for c in BUILT_IN if c.key == connector).columns)
    # Vietnamese headers, as the exports have; the guide names each column both ways.
    assert header == [HEADERS_VI[c] for c in columns]
    assert workbook.worksheets[-1].title == "Hướng dẫn"
    guide = [(r[0], r[1]) for r in workbook["Hướng dẫn"].iter_rows(min_row=2, max_row=len(columns) + 1, values_only=True)]
    assert guide == [(HEADERS_VI[c], c) for c in columns]
    assert client.get(world.url("/imports/templates/nope"), headers=world.h("admin")).status_code == 404


def _block(sheet, title: str) -> list[tuple]:
    """The rows under the list titled `title` on the codes sheet (its header included)."""
    for cell in sheet[1]:
        if cell.value == title:
            width = 1
            while sheet.cell(row=2, column=cell.column + width).value is not None:
                width += 1
            rows = []
            for r in range(2, sheet.max_row + 1):
                values = tuple(sheet.cell(row=r, column=cell.column + k).value for k in range(width))
                if values[0] is None:
                    break
                rows.append(values)
            return rows
    raise AssertionError(f"no list {title}")


def test_templates_list_the_valid_codes_on_their_second_sheet(clean_app, client, world):
    """Staff fill the staff template from the codes sheet (units, positions, regimes and
    roles as they are in the tenant now); the work-items template lists the task types."""
    response = client.get(world.url("/imports/templates/staff-xlsx"), headers=world.h("admin"))
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Dữ liệu", "Mã hợp lệ", "Hướng dẫn"]
    codes = workbook.worksheets[1]
    assert [c.value for c in codes[1] if c.value] == ["Đơn vị (Mã đơn vị)", "Vị trí việc làm (Mã vị trí)", "Chế độ",
                                                      "Vai trò đăng nhập"]
    assert _block(codes, "Đơn vị (Mã đơn vị)") == [("Mã", "Tên đơn vị"), ("AG", "Sở Nội vụ"), ("AG-P1", "Phòng Một"),
                                                    ("AG-P2", "Phòng Hai")]
    assert _block(codes, "Vị trí việc làm (Mã vị trí)") == [("Mã", "Tên vị trí"), ("CV", "Chuyên viên"),
                                                           ("KT", "Kế toán")]
    assert [r[0] for r in _block(codes, "Chế độ")] == ["Mã", "cong_chuc", "vien_chuc", "can_bo", "nguoi_lao_dong"]
    assert [r[0] for r in _block(codes, "Vai trò đăng nhập")] == ["Mã", "employee", "manager", "tenant_admin",
                                                                  "auditor"]
    # A code added later is in the next download.
    assert client.post(world.url("/positions"), json={"code": "001", "name": "Văn thư", "group": "support"},
                       headers=world.h("admin")).status_code == 201
    again = openpyxl.load_workbook(io.BytesIO(client.get(world.url("/imports/templates/staff-xlsx"),
                                                         headers=world.h("admin")).data))
    positions = _block(again["Mã hợp lệ"], "Vị trí việc làm (Mã vị trí)")
    assert positions[1] == ("001", "Văn thư")

    work = openpyxl.load_workbook(io.BytesIO(client.get(world.url("/imports/templates/work-items-csv"),
                                                        headers=world.h("admin")).data))
    assert _block(work["Mã hợp lệ"], "Loại công việc (Mã loại công việc)") == [
        ("Mã", "Tên loại công việc", "Đơn vị tính"), ("HT01", "Giải quyết hồ sơ hộ tịch", "hồ sơ"),
        ("KT01", "Lập báo cáo tài chính", "báo cáo"), ("VB01", "Soạn thảo văn bản hành chính", "văn bản")]
    # A connector that names none of these codes has no such sheet.
    dossiers = openpyxl.load_workbook(io.BytesIO(client.get(world.url("/imports/templates/one-stop-dossiers"),
                                                            headers=world.h("admin")).data))
    assert dossiers.sheetnames == ["Dữ liệu", "Hướng dẫn"]


def test_the_template_filled_in_imports_and_english_headers_still_do(clean_app, client, world):
    """The downloaded template (Vietnamese headers) filled in below its header imports;
    the column names as headers (the API's contract) give the same result."""
    template = client.get(world.url("/imports/templates/staff-xlsx"), headers=world.h("admin"))
    workbook = openpyxl.load_workbook(io.BytesIO(template.data))
    sheet = workbook.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Mã", "Họ và tên", "Mã đơn vị"]
    for row in staff_rows(3)[1:]:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    vietnamese = result_of(client, world, upload(client, world, "staff-xlsx", out.getvalue(), dry_run=True))
    english = result_of(client, world, upload(client, world, "staff-xlsx", xlsx(staff_rows(3)), dry_run=True))
    assert vietnamese["errors"] == english["errors"] == [] and vietnamese["warnings"] == []
    assert vietnamese["changes"] == english["changes"] == {"new": 3, "updated": 0, "unchanged": 0}
    # Headers in any case and spacing, mixed with column names.
    mixed = [["  HỌ VÀ TÊN ", "code", "mã đơn vị"], ["Lê Văn C", "NV009", "AG-P1"]]
    assert result_of(client, world, upload(client, world, "staff-xlsx", xlsx(mixed), dry_run=True))["errors"] == []


def test_cli_import_dry_run_commit_and_failure(clean_app, world, tmp_path):
    path = tmp_path / "staff.xlsx"
    path.write_bytes(xlsx(staff_rows(2)))
    dry = cli(clean_app, "import", "--tenant", world.slug, "--connector", "staff-xlsx", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output + str(dry.exception)
    assert "2 new" in dry.output and "would write 2" in dry.output
    done = cli(clean_app, "import", "--tenant", world.slug, "--connector", "staff-xlsx", str(path))
    assert done.exit_code == 0 and "wrote 2" in done.output
    assert path.exists(), "the CLI never deletes the user's file"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"code,full_name\nX,Y\n")
    failed = cli(clean_app, "import", "--tenant", world.slug, "--connector", "staff-csv", str(bad))
    assert failed.exit_code == 1 and "nothing was written" in failed.stderr
    off = cli(clean_app, "import", "--tenant", world.slug, "--connector", "nope", str(bad))
    assert off.exit_code == 1 and off.stderr.count("\n") == 1


def test_admin_page_uploads_and_shows_errors_in_vietnamese(clean_app, world):
    page = clean_app.test_client()
    clean_app.config["WTF_CSRF_ENABLED"] = False
    try:
        response = page.post("/login", data={"tenant": world.slug, "username": "admin", "password": PASSWORD})
        assert response.status_code in (302, 303), response.data[:300]
        assert page.get(f"/t/{world.slug}/admin/imports").status_code == 200
        rows = staff_rows(2)
        rows[2][2] = "KHONG-CO"
        response = page.post(f"/t/{world.slug}/admin/imports", content_type="multipart/form-data",
                             data={"connector": "staff-xlsx", "file": (io.BytesIO(xlsx(rows)), "s.xlsx")},
                             follow_redirects=True)
        text = response.data.decode()
        assert response.status_code == 200 and "Không có đơn vị mã &#39;KHONG-CO&#39;." in text
        # The finished run's bar says it is done, not its last report: a dry run that
        # wrote nothing read "100% · <bytes>/<bytes> · đang ghi".
        bar = re.search(r'<progress [^>]*>[^<]*</progress>\s*<span class="muted">([^<]*)</span>', text).group(1)
        assert bar == "100%" and "đang ghi" not in text
        template = page.get(f"/t/{world.slug}/admin/imports/templates/staff-xlsx")
        assert template.status_code == 200 and template.data[:2] == b"PK"
    finally:
        clean_app.config["WTF_CSRF_ENABLED"] = True


def test_new_tenant_has_the_built_in_connectors_enabled(clean_app, client, world):
    settings = client.get(world.url("/settings"), headers=world.h("admin")).get_json()
    assert set(settings["import_connectors"]) >= {"staff-xlsx", "staff-csv", "catalogue-xlsx", "work-items-csv",
                                                  "one-stop-dossiers"}





def test_staff_regime_column_is_optional_and_dated(clean_app, client, world):
    from core.classification.models import EmployeeRegime
    from core.classification.procedure import regimes_on

    header = STAFF_HEADER + ["regime", "regime_from"]
    rows = [header, ["R1", "Lê Văn Một", "AG-P1", "", "", "", "", "01/03/2024", "", "", "", "", "vien_chuc", ""],
            ["R2", "Lê Văn Hai", "AG-P1", "", "", "", "", "", "", "", "", "", "can_bo", "2026-07-01"],
            ["R3", "Lê Văn Ba", "AG-P1", "", "", "", "", "", "", "", "", "", "", ""]]
    done = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert done["errors"] == [] and done["changes"] == {"new": 3, "updated": 0, "unchanged": 0}
    with clean_app.app_context(), tenant_context(world.tenant_id):
        ids = dict(db.session.execute(select(Employee.code, Employee.id).where(Employee.code.like("R%"))).all())
        # R1 from its start date; R2 from 1 July 2026 (công chức before); R3 without a regime: công chức.
        assert regimes_on(ids.values(), date(2026, 6, 30)) == {ids["R1"]: "vien_chuc", ids["R2"]: "cong_chuc",
                                                               ids["R3"]: "cong_chuc"}
        assert regimes_on([ids["R2"]], date(2026, 7, 1)) == {ids["R2"]: "can_bo"}
        assert db.session.scalar(select(func.count()).select_from(EmployeeRegime)) == 2
    rows[1][12] = "nguoi_lao_dong"
    again = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert again["changes"] == {"new": 0, "updated": 1, "unchanged": 2}
    rows[2][12] = "bogus"
    bad = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert [(e["row"], e["column"]) for e in bad["errors"]] == [(3, "regime")]


def test_staff_field_columns_give_a_deputy_a_dated_field(clean_app, client, world):
    from core.org.models import DeputyField, OrgUnit

    header = STAFF_HEADER + ["field_units", "field_people", "field_from"]
    blank = [""] * (len(STAFF_HEADER) - 3)
    # D1 is put in charge of unit AG-P2 and of D2 (later in the file) from 1 October 2026.
    rows = [header, ["D1", "Phó Văn Một", "AG-P1", *blank, "AG-P2", "D2", "01/10/2026"],
            ["D2", "Lê Văn Hai", "AG-P2", *blank, "", "", ""]]
    done = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert done["errors"] == [] and done["changes"]["new"] == 2

    def fields():
        with clean_app.app_context(), tenant_context(world.tenant_id):
            ids = dict(db.session.execute(select(Employee.id, Employee.code)).all())
            units = dict(db.session.execute(select(OrgUnit.id, OrgUnit.code)).all())
            return sorted((ids[f.deputy_id], units.get(f.unit_id) or ids.get(f.member_id), str(f.start_date),
                           str(f.end_date)) for f in db.session.scalars(select(DeputyField)))

    assert fields() == [("D1", "AG-P2", "2026-10-01", "None"), ("D1", "D2", "2026-10-01", "None")]
    # The same file again changes nothing.
    assert result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))["errors"] == []
    assert len(fields()) == 2
    # From 1 November D1 keeps only the unit: D2 ends on 31 October.
    rows[1][-2:] = ["", "01/11/2026"]
    assert result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))["errors"] == []
    assert fields() == [("D1", "AG-P2", "2026-10-01", "None"), ("D1", "D2", "2026-10-01", "2026-10-31")]
    # Unknown codes are row errors in their column, and nothing is written.
    rows[1][-3:] = ["NO-UNIT", "", ""]
    bad = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert [(e["row"], e["column"]) for e in bad["errors"]] == [(2, "field_units")]
    rows[1][-3:] = ["", "NOBODY", ""]
    bad = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert [(e["row"], e["column"]) for e in bad["errors"]] == [(2, "field_people")]
    assert len(fields()) == 2


def test_staff_import_carries_the_streamlining_protections(clean_app, client, world):
    # Columns may come in any order; a blank cell keeps what is stored.
    header = ["code", "full_name", "unit_code", "pregnant_from", "pregnant_to", "youngest_child_born_on",
              "discipline_review_from", "discipline_review_to", "maternity_leave_from", "maternity_leave_to"]
    rows = [header, ["P1", "Lê Thị Hoa", "AG-P1", "01/03/2026", "", "15/01/2024", "", "", "", ""],
            ["P2", "Võ Văn Nam", "AG-P1", "", "", "", "2026-11-01", "2026-12-10", "", ""]]
    done = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(rows), "s.csv"))
    assert done["errors"] == [] and done["changes"] == {"new": 2, "updated": 0, "unchanged": 0}
    with clean_app.app_context(), tenant_context(world.tenant_id):
        people = {e.code: e for e in db.session.scalars(select(Employee).where(Employee.code.in_(["P1", "P2"])))}
        assert (people["P1"].pregnant_from, people["P1"].pregnant_to) == (date(2026, 3, 1), None)
        assert people["P1"].youngest_child_born_on == date(2024, 1, 15)
        assert (people["P2"].discipline_review_from, people["P2"].discipline_review_to) == (
            date(2026, 11, 1), date(2026, 12, 10))
    # An end before its start in the row, and an end whose start is stored later than it: errors, nothing written.
    bad = [header, ["P1", "Lê Thị Hoa", "AG-P1", "", "28/02/2026", "", "", "", "", ""],
           ["P2", "Võ Văn Nam", "AG-P1", "", "", "", "", "", "2026-06-01", "2026-05-01"],
           ["P3", "Mai Văn Ba", "AG-P1", "", "2026-05-01", "", "", "", "", ""]]
    result = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(bad), "s.csv"))
    assert result["rows_written"] == 0
    assert {(e["row"], e["column"], e["message"]) for e in result["errors"]} == {
        (2, "pregnant_to", "Before the start date."), (3, "maternity_leave_to", "Before the start date."),
        (4, "pregnant_to", "An end date needs its start date.")}
    assert count(clean_app, world, Employee, Employee.code == "P3") == 0
    with clean_app.app_context(), tenant_context(world.tenant_id):
        assert db.session.scalar(select(Employee.pregnant_to).where(Employee.code == "P1")) is None


# ---------------------------------------------------------------- every error of a row at once


@pytest.mark.parametrize(("connector", "kind"), [("staff-xlsx", "xlsx"), ("staff-csv", "csv")])
def test_a_staff_rows_bad_date_and_bad_codes_are_reported_in_one_run(clean_app, client, world, connector, kind):
    """A bad date used to hide the row's unknown unit and position until the person had
    fixed the date and uploaded again: now the row's every error comes at once, and still
    nothing is written."""
    rows = staff_rows(3)
    rows[1][2], rows[1][3], rows[1][7] = "NO-UNIT", "NO-POST", "31/02/2025"  # row 2: three errors
    rows[2][8] = "not a day"  # row 3: a bad date only, its codes are the tenant's
    rows[3][2], rows[3][6] = "NOWHERE", "abc"  # row 4: a bad number and a bad unit
    data = xlsx(rows) if kind == "xlsx" else csv_bytes(rows)
    before = count(clean_app, world, Employee)
    result = result_of(client, world, upload(client, world, connector, data, f"s.{kind}"))
    assert [(e["row"], e["column"]) for e in result["errors"]] == [
        (2, "start_date"), (2, "unit_code"), (2, "position_code"), (3, "end_date"),
        (4, "salary_coefficient"), (4, "unit_code")]
    messages = [e["message"] for e in result["errors"] if e["column"] in ("unit_code", "position_code")]
    assert messages == ["No unit with code 'NO-UNIT' in this tenant.", "No position with code 'NO-POST' in this tenant.",
                        "No unit with code 'NOWHERE' in this tenant."]
    assert result["errors_total"] == 6 and result["rows_total"] == 3 and result["rows_valid"] == 0
    assert result["rows_written"] == 0 and count(clean_app, world, Employee) == before


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_work_items_bad_cells_and_unknown_codes_are_reported_in_one_run(clean_app, client, world, kind):
    rows = work_rows()
    rows[1][1], rows[1][5] = "NOBODY", "many"  # row 2: a bad quantity and an unknown person
    rows[2][2], rows[2][4] = "NOTYPE", "32/10/2026"  # row 3: a bad day and an unknown task type
    rows[3][0] = "EO-1"  # row 4: a duplicate id, with a bad status
    rows[3][11] = "finished"
    data = csv_bytes(rows) if kind == "csv" else xlsx(rows)
    result = result_of(client, world, upload(client, world, "work-items-csv", data, f"w.{kind}"))
    assert [(e["row"], e["column"]) for e in result["errors"]] == [
        (2, "quantity"), (2, "employee_code"), (3, "work_date"), (3, "task_type_code"), (4, "status"),
        (4, "external_id")]
    assert [e["message"] for e in result["errors"] if e["column"] in ("employee_code", "task_type_code", "external_id")
            ] == ["No employee with code 'NOBODY'.", "No task type with code 'NOTYPE'.", "Duplicate of row 2."]
    assert result["rows_total"] == 3 and result["rows_valid"] == 0 and result["rows_written"] == 0
    assert count(clean_app, world, WorkItem) == 0


@pytest.mark.parametrize(("connector", "kind"), [("staff-xlsx", "xlsx"), ("staff-csv", "csv")])
def test_a_staff_rows_dates_hold_to_1900_2099_as_the_api_does(clean_app, client, world, connector, kind):
    """01/01/0001 (a date cell left at its start) and 9999 were stored as given, while the
    API and the admin's form refuse them (core/org/schemas.py PERSON_DATE): each is the
    row's error in its column, with the row's other errors, and nothing is written."""
    from core.messages import localise

    rows = staff_rows(4)
    rows[1][7] = "01/01/0001"  # row 2: start_date
    rows[2][8] = "9999-12-31"  # row 3: end_date
    rows[3][7], rows[3][2] = "31/12/1899", "NOWHERE"  # row 4: the day before 1900, and an unknown unit
    rows[4][7], rows[4][8] = "01/01/1900", "31/12/2099"  # row 5: the bounds themselves are fine
    data = xlsx(rows) if kind == "xlsx" else csv_bytes(rows)
    before = count(clean_app, world, Employee)
    result = result_of(client, world, upload(client, world, connector, data, f"s.{kind}"))
    message = "Use a date between 1900 and 2099."
    assert [(e["row"], e["column"], e["message"]) for e in result["errors"]] == [
        (2, "start_date", message), (3, "end_date", message), (4, "start_date", message),
        (4, "unit_code", "No unit with code 'NOWHERE' in this tenant.")]
    assert result["rows_written"] == 0 and result["rows_valid"] == 1 and count(clean_app, world, Employee) == before
    with clean_app.test_request_context():
        assert localise(message, "vi") == "Ngày phải trong khoảng 1900 đến 2099."
    header = ["code", "full_name", "unit_code", "youngest_child_born_on"]
    protected = result_of(client, world, upload(client, world, "staff-csv", csv_bytes(
        [header, ["P1", "Lê Thị Hoa", "AG-P1", "15/01/0024"]]), "p.csv"))
    assert [(e["row"], e["column"], e["message"]) for e in protected["errors"]] == [
        (2, "youngest_child_born_on", message)]
