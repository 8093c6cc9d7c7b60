"""Row messages of the import report in Vietnamese. The pipeline and connectors speak
English (stored with the job); pages show the report in the reader's language."""

from __future__ import annotations

import re

_VI: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"^Required\.$", "Bắt buộc."),
    (r"^Required column is missing from the header\.$", "Thiếu cột bắt buộc ở dòng tiêu đề."),
    (r"^The column appears more than once\.$", "Cột bị lặp lại."),
    (r"^Unknown column \(ignored\)\.$", "Cột không xác định (bỏ qua)."),
    (r"^The file is empty: it has no header row\.$", "Tệp rỗng: không có dòng tiêu đề."),
    (r"^Duplicate of row (\d+)\.$", r"Trùng với dòng \1."),
    (r"^Invalid value (.*): (.*)\.$", r"Giá trị \1 không hợp lệ: \2."),
    (r"^No unit with code (.*) in this tenant\.$", r"Không có đơn vị mã \1."),
    (r"^No position with code (.*) in this tenant\.$", r"Không có vị trí việc làm mã \1."),
    (r"^No employee with code (.*?)( \(in the file or the tenant\))?\.$", r"Không có cán bộ mã \1."),
    (r"^No task type with code (.*)\.$", r"Không có loại công việc mã \1."),
    (r"^The period (.*) is closed\.$", r"Kỳ \1 đã khóa sổ."),
    (r"^The task type has no norm in force on this date\.$", "Loại công việc chưa có định mức áp dụng vào ngày này."),
    (r"^This would make a management cycle\.$", "Tạo thành vòng lặp quản lý."),
    (r"^This username belongs to someone else in this tenant\.$", "Tên đăng nhập đã thuộc về người khác."),
    (r"^Before the start date\.$", "Trước ngày bắt đầu."),
    (r"^Required when the status is done\.$", "Bắt buộc khi trạng thái là done."),
    (r"^The file is not text in a known encoding.*$", "Tệp không phải văn bản với bảng mã đã biết."),
    (r"^Old Excel 97–2003 \(\.xls\) files are not accepted.*$", "Không nhận tệp Excel 97–2003 (.xls); hãy lưu thành .xlsx."),
    (r"^The sheet has (\d+) merged cell range\(s\), the first at row (\d+).*$",
     r"Trang tính có \1 vùng ô gộp, vùng đầu ở dòng \2; hãy bỏ gộp và điền đủ từng ô."),
    (r"^The workbook would expand to .*$", "Tệp xlsx giải nén quá lớn (trên 100 MB)."),
    (r"^The workbook has (\d+) parts.*$", r"Tệp xlsx có quá nhiều thành phần (\1)."),
    (r"^The (workbook|sheet) cannot be read.*$", "Không đọc được tệp xlsx (hỏng hoặc không an toàn)."),
    (r"^The file is not a readable xlsx workbook.*$", "Tệp không phải tệp xlsx đọc được."),
)]


def localise(message: str, locale: str) -> str:
    if not str(locale).startswith("vi"):
        return message
    for pattern, replacement in _VI:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message
