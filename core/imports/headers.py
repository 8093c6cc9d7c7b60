"""The Vietnamese header of each import column, and reading a header cell back to its
column: a file may head its columns in Vietnamese (as the templates and exports do) or with
the connector's column names (the API's contract). Pure, so import connectors may use it."""

from __future__ import annotations

import unicodedata

# The header of each column in the templates (and the report's column names in Vietnamese).
HEADERS_VI: dict[str, str] = {
    "code": "Mã", "full_name": "Họ và tên", "unit_code": "Mã đơn vị", "position_code": "Mã vị trí việc làm",
    "manager_code": "Mã người quản lý", "is_leader": "Là lãnh đạo", "salary_coefficient": "Hệ số lương",
    "start_date": "Ngày bắt đầu", "end_date": "Ngày kết thúc", "username": "Tên đăng nhập",
    "email": "Thư điện tử", "roles": "Vai trò đăng nhập", "regime": "Chế độ",
    "regime_from": "Chế độ từ ngày", "name": "Tên loại công việc", "group": "Nhóm",
    "unit_of_measure": "Đơn vị tính", "norm_minutes": "Định mức (phút)", "product_weight": "Hệ số sản phẩm",
    "complexity_levels": "Các mức độ phức tạp", "position_codes": "Mã vị trí áp dụng",
    "effective_from": "Áp dụng từ ngày", "external_id": "Mã ở hệ thống nguồn", "employee_code": "Mã cán bộ",
    "task_type_code": "Mã loại công việc", "title": "Tên công việc", "work_date": "Ngày làm việc",
    "quantity": "Số lượng", "complexity_level": "Mức độ phức tạp", "deadline": "Hạn hoàn thành",
    "declared_at": "Thời điểm đăng ký", "completed_at": "Thời điểm hoàn thành",
    "reported_at": "Thời điểm báo cáo", "status": "Trạng thái", "failed_reviews": "Số lần không đạt",
    "missed_deadlines": "Số lần trễ hạn", "stars": "Đánh giá chất lượng", "satisfaction": "Mức độ hài lòng",
    "role": "Vai trò", "priority": "Độ ưu tiên", "exempt": "Miễn trừ", "dossier_code": "Mã hồ sơ",
    "procedure_code": "Mã thủ tục", "procedure_name": "Tên thủ tục", "handler_code": "Mã cán bộ xử lý",
    "received_at": "Thời điểm tiếp nhận", "due_at": "Hạn trả kết quả", "finished_at": "Thời điểm trả kết quả",
    "result": "Kết quả", "citizen_rating": "Đánh giá của người dân",
    "field_units": "Đơn vị phụ trách", "field_people": "Cán bộ phụ trách", "field_from": "Phụ trách từ ngày",
    "pregnant_from": "Mang thai từ ngày", "pregnant_to": "Mang thai đến ngày",
    "maternity_leave_from": "Nghỉ thai sản từ ngày", "maternity_leave_to": "Nghỉ thai sản đến ngày",
    "youngest_child_born_on": "Ngày sinh con nhỏ nhất",
    "discipline_review_from": "Đang xem xét kỷ luật từ ngày", "discipline_review_to": "Kết thúc xem xét kỷ luật",
}


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


_COLUMN_OF = {_folded(header): column for column, header in HEADERS_VI.items()}


def column_for_header(header: str) -> str:
    """A header cell (already stripped and lower-cased or not) as the column it names:
    "Họ và tên" → full_name; an English column name, or anything else, as it is."""
    return _COLUMN_OF.get(_folded(header), header)


def header_of(column: str) -> str:
    return HEADERS_VI.get(column, column)
