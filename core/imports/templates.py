"""Downloadable xlsx templates: the connector's header row in Vietnamese (as the exports
have), and a sheet explaining each column in Vietnamese and English. A file may head
its columns either way: `column_for_header` reads the Vietnamese headers back to the
connector's column names, which stay accepted as they are (the API's contract)."""

from __future__ import annotations

import io

from core.imports.headers import HEADERS_VI, column_for_header, header_of  # noqa: F401 - re-exported

HELP: dict[str, tuple[str, str]] = {
    "code": ("Mã (duy nhất)", "Code (unique)"),
    "full_name": ("Họ và tên", "Full name"),
    "unit_code": ("Mã đơn vị", "Unit code"),
    "position_code": ("Mã vị trí việc làm", "Job position code"),
    "manager_code": ("Mã cán bộ của người quản lý trực tiếp", "Code of the direct manager"),
    "is_leader": ("Là lãnh đạo đơn vị: 1/0, có/không", "Unit leader: 1/0, yes/no"),
    "salary_coefficient": ("Hệ số lương, ví dụ 2,34", "Salary coefficient, e.g. 2.34"),
    "start_date": ("Ngày bắt đầu (dd/mm/yyyy)", "Start date (dd/mm/yyyy)"),
    "end_date": ("Ngày kết thúc (dd/mm/yyyy)", "End date (dd/mm/yyyy)"),
    "username": ("Tên đăng nhập (tài khoản mới phải đặt mật khẩu)", "Username (new logins must set a password)"),
    "email": ("Thư điện tử", "E-mail"),
    "roles": ("Vai trò, cách nhau bởi ';': employee;manager;tenant_admin;auditor",
              "Roles separated by ';': employee;manager;tenant_admin;auditor"),
    "regime": ("Chế độ: cong_chuc (mặc định), vien_chuc, can_bo, nguoi_lao_dong",
               "Legal regime: cong_chuc (the default), vien_chuc, can_bo, nguoi_lao_dong"),
    "regime_from": ("Chế độ áp dụng từ ngày (mặc định: ngày bắt đầu công tác)",
                    "Regime in force from (default: the start date)"),
    "field_units": ("Cấp phó: mã các đơn vị phụ trách, cách nhau bởi ';' (chỉ người của chính đơn vị đó)",
                    "Deputy: codes of the units in charge, separated by ';' (their own people only)"),
    "field_people": ("Cấp phó: mã các cán bộ phụ trách, cách nhau bởi ';'",
                     "Deputy: codes of the people in charge, separated by ';'"),
    "field_from": ("Lĩnh vực phụ trách áp dụng từ ngày (mặc định: ngày nhập)",
                   "Field in charge from (default: the day of the import)"),
    "pregnant_from": ("Mang thai từ ngày (không xét tinh giản biên chế)", "Pregnant from (not a streamlining candidate)"),
    "pregnant_to": ("Mang thai đến ngày (trống: đang mang thai)", "Pregnant until (empty: still)"),
    "maternity_leave_from": ("Nghỉ thai sản từ ngày", "Maternity leave from"),
    "maternity_leave_to": ("Nghỉ thai sản đến ngày (trống: đang nghỉ)", "Maternity leave until (empty: still)"),
    "youngest_child_born_on": ("Ngày sinh của con nhỏ nhất (nuôi con dưới 36 tháng tuổi)",
                               "Birth date of the youngest child (raising a child under 36 months)"),
    "discipline_review_from": ("Đang bị xem xét xử lý kỷ luật từ ngày", "Under a discipline review from"),
    "discipline_review_to": ("Ngày kết thúc xem xét kỷ luật (trống: đang xem xét)",
                             "Discipline review closed on (empty: pending)"),
    "name": ("Tên loại công việc", "Task type name"),
    "group": ("Nhóm A, B, C hoặc D", "Group A, B, C or D"),
    "unit_of_measure": ("Đơn vị tính", "Unit of measure"),
    "norm_minutes": ("Định mức thời gian (phút/đơn vị)", "Norm (minutes per unit)"),
    "product_weight": ("Hệ số sản phẩm quy đổi", "Converted-product weight"),
    "complexity_levels": ("Mức độ phức tạp, ví dụ 1:0.8;2:1.0;3:1.2", "Complexity levels, e.g. 1:0.8;2:1.0;3:1.2"),
    "position_codes": ("Mã vị trí áp dụng, cách nhau bởi ';'", "Position codes, separated by ';'"),
    "effective_from": ("Áp dụng từ ngày (trống: từ đầu)", "In force from (empty: always)"),
    "external_id": ("Mã công việc ở hệ thống nguồn (duy nhất)", "Id in the source system (unique)"),
    "employee_code": ("Mã cán bộ", "Employee code"),
    "task_type_code": ("Mã loại công việc", "Task type code"),
    "title": ("Tên công việc", "Title"),
    "work_date": ("Ngày làm việc", "Work date"),
    "quantity": ("Số lượng", "Quantity"),
    "complexity_level": ("Mức độ phức tạp", "Complexity level"),
    "deadline": ("Hạn hoàn thành", "Deadline"),
    "declared_at": ("Thời điểm đăng ký", "Declared at"),
    "completed_at": ("Thời điểm hoàn thành", "Completed at"),
    "reported_at": ("Thời điểm báo cáo kết quả", "Reported at"),
    "status": ("Trạng thái: planned, in_progress, done, cancelled", "Status: planned, in_progress, done, cancelled"),
    "failed_reviews": ("Số lần không đạt chất lượng", "Failed reviews"),
    "missed_deadlines": ("Số lần trễ hạn (trống: tự tính)", "Missed deadlines (empty: computed)"),
    "stars": ("Đánh giá chất lượng 1–5", "Quality stars 1–5"),
    "satisfaction": ("Mức độ hài lòng 1–5", "Satisfaction 1–5"),
    "role": ("Vai trò: lead hoặc support", "Role: lead or support"),
    "priority": ("Độ ưu tiên 1, 2, 3", "Priority 1, 2, 3"),
    "exempt": ("Miễn trừ do nguyên nhân khách quan: 1/0", "Exempt (objective cause): 1/0"),
    "dossier_code": ("Mã hồ sơ", "Dossier code"),
    "procedure_code": ("Mã thủ tục hành chính", "Procedure code"),
    "procedure_name": ("Tên thủ tục", "Procedure name"),
    "handler_code": ("Mã cán bộ xử lý", "Handler's employee code"),
    "received_at": ("Thời điểm tiếp nhận", "Received at"),
    "due_at": ("Hạn trả kết quả", "Due at"),
    "finished_at": ("Thời điểm trả kết quả", "Finished at"),
    "result": ("Kết quả", "Result"),
    "citizen_rating": ("Đánh giá của người dân 1–5", "Citizen's rating 1–5"),
}


CODES_SHEET = "Mã hợp lệ"
REGIME_NAMES = {"cong_chuc": "Công chức", "vien_chuc": "Viên chức", "can_bo": "Cán bộ",
                "nguoi_lao_dong": "Người lao động (hợp đồng)"}
ROLE_NAMES = {"employee": "Cán bộ, công chức (khai báo công việc)", "manager": "Lãnh đạo, quản lý (duyệt, giao việc)",
              "tenant_admin": "Quản trị (Sở Nội vụ)", "auditor": "Thanh tra, kiểm tra (chỉ xem)"}


def _code_lists(columns) -> list[tuple[str, list[str], list[tuple]]]:
    """The codes the connector's columns must name, read from the tenant's data now, as
    (title, headers, rows): units, positions, task types, regimes and roles — so staff fill
    a template without guessing a code no page shows them. One query per list."""
    from sqlalchemy import select

    from core.catalogue.models import TaskType
    from core.extensions import db
    from core.org.models import JobPosition, OrgUnit

    wanted = set(columns)
    lists = []
    if "unit_code" in wanted:
        rows = db.session.execute(select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.code)).all()
        lists.append(("Đơn vị (Mã đơn vị)", ["Mã", "Tên đơn vị"], [tuple(r) for r in rows]))
    if wanted & {"position_code", "position_codes"}:
        rows = db.session.execute(select(JobPosition.code, JobPosition.name).order_by(JobPosition.code)).all()
        lists.append(("Vị trí việc làm (Mã vị trí)", ["Mã", "Tên vị trí"], [tuple(r) for r in rows]))
    if "task_type_code" in wanted:
        rows = db.session.execute(select(TaskType.code, TaskType.name, TaskType.unit_of_measure)
                                  .order_by(TaskType.code)).all()
        lists.append(("Loại công việc (Mã loại công việc)", ["Mã", "Tên loại công việc", "Đơn vị tính"],
                      [tuple(r) for r in rows]))
    if "regime" in wanted:
        lists.append(("Chế độ", ["Mã", "Tên"], list(REGIME_NAMES.items())))
    if "roles" in wanted:
        lists.append(("Vai trò đăng nhập", ["Mã", "Ý nghĩa"], list(ROLE_NAMES.items())))
    return lists


def _codes_sheet(workbook, columns) -> None:
    """The second sheet: each list of valid codes side by side (a title, a header, the
    codes as text), or no sheet when the connector names no code of these."""
    from openpyxl.styles import Font

    lists = _code_lists(columns)
    if not lists:
        return
    sheet = workbook.create_sheet(CODES_SHEET)
    column = 1
    for title, headers, rows in lists:
        sheet.cell(row=1, column=column, value=title).font = Font(bold=True)
        for offset, header in enumerate(headers):
            sheet.cell(row=2, column=column + offset, value=header).font = Font(bold=True)
            letter = sheet.cell(row=2, column=column + offset).column_letter
            sheet.column_dimensions[letter].width = 16 if offset == 0 else 40
        for r, values in enumerate(rows, start=3):
            for offset, value in enumerate(values):
                cell = sheet.cell(row=r, column=column + offset, value=value)
                if offset == 0:
                    cell.number_format = "@"  # a code such as 001 stays text
        column += len(headers) + 1
    sheet.freeze_panes = "A3"


def template_xlsx(connector) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Dữ liệu"
    sheet.append([header_of(column) for column in connector.columns])
    required = set(getattr(connector, "required", ()) or ())
    for column, cell in zip(connector.columns, sheet[1], strict=True):
        cell.font = Font(bold=True, color="C00000" if column in required else None)
        sheet.column_dimensions[cell.column_letter].width = max(14, len(str(cell.value)) + 4)
        cell.number_format = "@"
    _codes_sheet(workbook, connector.columns)
    guide = workbook.create_sheet("Hướng dẫn")
    guide.append(["Cột", "Column (also accepted)", "Bắt buộc / Required", "Ý nghĩa", "Meaning"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for column in connector.columns:
        vi, en = HELP.get(column, ("", ""))
        guide.append([header_of(column), column, "x" if column in required else "", vi, en])
    guide.append([])
    guide.append(["Chỉ đọc trang tính đầu tiên; mỗi dòng một bản ghi; không gộp ô; công thức được đọc theo giá trị đã lưu.",
                  "", "", "", "Only the first sheet is read; one record per row; no merged cells; formulas are read as "
                  "their saved values."])
    if CODES_SHEET in workbook.sheetnames:
        guide.append([f"Các mã hợp lệ (đơn vị, vị trí, loại công việc, chế độ, vai trò) ở trang tính "
                      f"\"{CODES_SHEET}\".", "", "", "", f"The valid codes are on the \"{CODES_SHEET}\" sheet."])
    for letter, width in (("A", 24), ("B", 22), ("C", 12), ("D", 60), ("E", 60)):
        guide.column_dimensions[letter].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
