"""A fuzz target on the import parsers: random bytes, and valid CSV, JSON lines and xlsx
files mutated (bytes flipped, cut, repeated; a workbook's XML parts altered inside a
sound zip), fed to the readers of core/imports/readers.py, to every built-in connector's
validation, and through the import pipeline on both databases.

Properties: the only exception ever raised is the readers' own FileRejected (whose
message is for a person); the pipeline reports every problem as an error event and never
falls back to its "the connector failed" catch-all; each example stays within a time and
memory bound; and nothing is written. CONGVU_IMPORT_FUZZ_EXAMPLES (default 200) sets
the examples per property; e.g. `CONGVU_IMPORT_FUZZ_EXAMPLES=20000 pytest tests/imports/test_import_fuzz.py`.
"""

from __future__ import annotations

import io
import os
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.auth.models import User
from core.catalogue.models import TaskType
from core.extensions import db
from core.imports import services as import_services
from core.imports.readers import FileRejected, iter_csv, iter_jsonl, iter_table, iter_xlsx
from core.org.models import Employee
from core.tenancy import tenant_context
from core.work.models import WorkItem
from plugins.imports import BUILT_IN

EXAMPLES = int(os.environ.get("CONGVU_IMPORT_FUZZ_EXAMPLES", "200"))
# Per example, on files of at most a few kilobytes: generous for a loaded 2-core host.
MAX_SECONDS = 5.0
MAX_PEAK_BYTES = 64 * 1024 * 1024
CATCH_ALL = "The connector failed while reading the file; nothing was imported."

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

# ---------------------------------------------------------------- valid seeds

STAFF = [["code", "full_name", "unit_code", "position_code", "manager_code", "is_leader", "salary_coefficient",
          "start_date", "end_date", "username", "email", "roles"],
         ["NV001", "Nguyễn Thị Ánh", "AG-P1", "CV", "", "1", "2,34", "15/01/2025", "", "anh", "anh@example.vn",
          "employee"],
         ["NV002", "Trần Văn Bình", "AG-P2", "KT", "NV001", "0", "3.0", "2025-02-01", "", "", "", ""]]
WORK = [["external_id", "employee_code", "task_type_code", "title", "work_date", "quantity"],
        ["x-1", "STAFF", "VB01", "Soạn công văn", "2026-10-14", "2"],
        ["x-2", "STAFF", "VB01", "Trả lời kiến nghị", "14/10/2026", "1,5"]]
DOSSIERS_CSV = [["dossier_code", "procedure_code", "handler_code", "received_at", "due_at", "finished_at",
                 "citizen_rating"],
                ["HS-1", "VB01", "STAFF", "2026-10-14 08:00", "2026-10-16 17:00", "2026-10-15 09:30", "5"]]
DOSSIERS_JSONL = (b'{"dossier_code": "HS-2", "procedure_code": "VB01", "handler_code": "STAFF", '
                  b'"received_at": "2026-10-14T08:00:00+07:00", "citizen_rating": 4}\n'
                  b'{"dossier_code": "HS-3", "procedure_code": "VB01", "handler_code": "STAFF", '
                  b'"received_at": "2026-10-14T09:00:00+07:00", "result": "r\\u00fat h\\u1ed3 s\\u01a1"}\n')


def csv_seed(rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_seed(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.active["B5"] = "=1+1"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


TEXT_SEEDS = [csv_seed(STAFF), csv_seed(STAFF, ";", "utf-8-sig"), csv_seed(STAFF, "\t", "utf-16"),
              csv_seed(WORK), csv_seed(DOSSIERS_CSV), DOSSIERS_JSONL]
XLSX_SEEDS = [xlsx_seed(STAFF), xlsx_seed(WORK)]
XML_PARTS = ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml",
             "[Content_Types].xml", "xl/_rels/workbook.xml.rels")
# Fragments that a spreadsheet or an attacker might put where they do not belong.
TOKENS = [b",", b";", b"\t", b'"', b'""', b"\r\n", b"\n", b"\r", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3",
          b"\xe1\xbb\x87", b"=1+1", b"-", b"1e308", b"9" * 30, b"NaN", b"31/02/2026", b"0000-00-00", b"{", b"}",
          b"[" * 2000, b'"a":', b"<", b"/>", b'r="XFD1048577"', b't="s"', b"<v>99999</v>", b's="999"',
          b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>", b"&e;", b"<![CDATA[", b"]]>",
          b'<mergeCell ref="A1:B2"/>', b"\xff" * 8]


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed with a few random edits: flips, insertions of tokens or bytes, deletions,
    duplications of a slice, truncation."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(("flip", "insert", "token", "delete", "repeat", "truncate")))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if edit == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif edit == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif edit == "repeat":
            piece = bytes(data[at:at + draw(st.integers(1, 200))])
            data[at:at] = piece * draw(st.integers(1, 20))
        elif edit == "truncate":
            del data[at:]
    return bytes(data)


@st.composite
def xlsx_with_altered_part(draw) -> bytes:
    """A sound zip (so the XML parsers are reached) whose one XML part is mutated, or
    replaced by random bytes."""
    seed = draw(st.sampled_from(XLSX_SEEDS))
    with zipfile.ZipFile(io.BytesIO(seed)) as src:
        parts = {info.filename: src.read(info.filename) for info in src.infolist()}
    target = draw(st.sampled_from([p for p in XML_PARTS if p in parts]))
    if draw(st.booleans()):
        parts[target] = draw(mutated([parts[target]]))
    else:
        parts[target] = draw(st.binary(max_size=2048))
    if draw(st.integers(0, 9)) == 0:
        del parts[draw(st.sampled_from(sorted(parts)))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, content in parts.items():
            dst.writestr(name, content)
    return out.getvalue()


ANY_FILE = st.one_of(st.binary(max_size=4096), mutated(TEXT_SEEDS), mutated(XLSX_SEEDS), xlsx_with_altered_part())

# ---------------------------------------------------------------- properties


def bounded(work: Callable[[], object]) -> object:
    """Run `work`, failing if it takes too long or allocates too much."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        return work()
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert elapsed < MAX_SECONDS, f"took {elapsed:.1f} s"
        assert peak < MAX_PEAK_BYTES, f"peaked at {peak // 2**20} MiB"


def drain(open_rows: Callable[[], Iterator]) -> int:
    """Read every row; only FileRejected may stop it, and it must say something."""
    count = 0
    try:
        for number, cells in open_rows():
            assert isinstance(number, int) and number >= 0
            assert isinstance(cells, list | dict | str)
            count += 1
    except FileRejected as exc:
        assert exc.message.strip() and exc.status in (413, 422, 503)
    return count


READERS = {"csv": iter_csv, "jsonl": iter_jsonl, "xlsx": iter_xlsx, "table": iter_table,
           "table-csv-only": lambda stream: iter_table(stream, ("csv",))}


@FUZZ
@given(data=ANY_FILE)
def test_readers_raise_nothing_but_file_rejected(data):
    for reader in READERS.values():
        bounded(lambda reader=reader: drain(lambda: reader(io.BytesIO(data))))


def events_of(connector, data: bytes) -> list[tuple[str, dict]]:
    return list(import_services.parse_events(connector, io.BytesIO(data), connector.load_settings({})))


@FUZZ
@given(data=ANY_FILE)
def test_every_connector_validates_without_falling_over(data):
    """Each built-in connector's reading and validation, through the pipeline's event
    stream: rows, errors and warnings only, every error with a message, and never the
    catch-all that stands for an unexpected exception."""
    for connector in BUILT_IN:
        events = bounded(lambda connector=connector: events_of(connector, data))
        for kind, payload in events:
            assert kind in ("row", "error", "warning", "partial")
            if kind in ("row", "partial"):  # partial: what converted of a row with errors
                assert isinstance(payload["row"], int) and isinstance(payload["values"], dict)
            else:
                assert isinstance(payload["message"], str) and payload["message"].strip()
                assert payload["message"] != CATCH_ALL, (connector.key, payload)


def test_the_seeds_are_valid_so_mutations_start_from_real_files():
    by_key = {c.key: c for c in BUILT_IN}
    for key, data, rows in (("staff-csv", TEXT_SEEDS[0], 2), ("staff-csv", TEXT_SEEDS[1], 2),
                            ("staff-csv", TEXT_SEEDS[2], 2), ("work-items-csv", TEXT_SEEDS[3], 2),
                            ("one-stop-dossiers", TEXT_SEEDS[4], 1), ("one-stop-dossiers", TEXT_SEEDS[5], 2),
                            ("staff-xlsx", XLSX_SEEDS[0], 2), ("work-items-csv", XLSX_SEEDS[1], 2)):
        events = events_of(by_key[key], data)
        assert [k for k, _ in events].count("row") == rows, (key, events)
        assert [p for k, p in events if k == "error"] == [], key


def test_deeply_nested_json_line_is_a_row_error():
    """Found by this fuzz target: a line of nested brackets made json raise RecursionError."""
    data = b'{"dossier_code": ' + b"[" * 100_000 + b"\n" + DOSSIERS_JSONL
    rows = list(iter_jsonl(io.BytesIO(data)))
    assert rows[0] == (1, "Not valid JSON: nested too deeply.")
    assert [n for n, _ in rows] == [1, 2, 3]


# ---------------------------------------------------------------- the pipeline, on both databases


def _counts(app, tenant_id: int) -> tuple[int, ...]:
    with app.app_context(), tenant_context(tenant_id):
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Employee, User, WorkItem, TaskType, AuditEvent))


@pytest.fixture
def import_world(clean_app, tmp_path):
    from tests.work.test_work_support import build

    return build(clean_app, "tinh-fuzz")


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "commit"])
def test_pipeline_writes_nothing_for_a_broken_file(clean_app, import_world, tmp_path, dry_run):
    """run_import, the job's whole path from the stored file to the result, with each
    connector of the tenant: a dry run never writes; a commit writes nothing whenever the
    result has an error (and random files always do, checked below)."""
    keys = [c.key for c in BUILT_IN]
    before = _counts(clean_app, import_world.tenant_id)
    outcomes = {"errors": 0, "clean": 0}
    path = tmp_path / "upload.bin"

    @settings(max_examples=max(EXAMPLES // 4, 10), deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(key=st.sampled_from(keys), data=ANY_FILE if dry_run else st.binary(max_size=4096))
    def run(key, data):
        path.write_bytes(data)
        with clean_app.app_context(), tenant_context(import_world.tenant_id):
            started = time.perf_counter()
            result = import_services.run_import(key, path, dry_run=dry_run, actor="fuzz", filename="upload.bin")
            assert time.perf_counter() - started < MAX_SECONDS
        if dry_run or result["errors"]:
            assert result["rows_written"] == 0
        assert all(e["message"] != CATCH_ALL and e["message"].strip() for e in result["errors"])
        outcomes["errors" if result["errors"] else "clean"] += 1
        if not dry_run:
            assert result["errors"], "a random file was accepted"

    run()
    assert _counts(clean_app, import_world.tenant_id) == before
    assert outcomes["errors"] > 0
