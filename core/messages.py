"""English messages in Vietnamese, for texts the code writes in English and shows in
the reader's language: the rows of an import report (the pipeline and connectors speak
English, and the report is stored with the job) and marshmallow's validation messages
(a component's settings form). One table, one function, for both."""

from __future__ import annotations

import re

_VI: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    # The import report: the pipeline's and the built-in connectors' row messages.
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
    # marshmallow's own messages (settings forms).
    (r"^Missing data for required field\.$", "Bắt buộc nhập."),
    (r"^Field may not be null\.$", "Không được để trống."),
    (r"^Not a valid integer\.$", "Phải là số nguyên."),
    (r"^Not a valid number\.$", "Phải là số."),
    (r"^Not a valid string\.$", "Phải là chuỗi ký tự."),
    (r"^Not a valid boolean\.$", "Phải là đúng/sai."),
    (r"^Not a valid date\.$", "Ngày không hợp lệ (dạng YYYY-MM-DD)."),
    (r"^Not a valid time\.$", "Giờ không hợp lệ (dạng HH:MM)."),
    (r"^Not a valid datetime\.$", "Thời điểm không hợp lệ."),
    (r"^Not a valid list\.$", "Phải là một danh sách."),
    (r"^Not a valid mapping type\.$", "Phải là một bảng khóa – giá trị."),
    (r"^Not valid JSON\.$", "Không phải JSON hợp lệ."),
    (r"^Unknown field\.$", "Trường không được hỗ trợ."),
    (r"^Invalid input type\.$", "Kiểu dữ liệu không hợp lệ."),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$", "Không chấp nhận NaN hoặc vô cực."),
    (r"^Must be greater than or equal to (.+) and less than or equal to (.+)\.$", r"Phải từ \1 đến \2."),
    (r"^Must be greater than (.+) and less than (.+)\.$", r"Phải lớn hơn \1 và nhỏ hơn \2."),
    (r"^Must be greater than or equal to (.+)\.$", r"Phải lớn hơn hoặc bằng \1."),
    (r"^Must be less than or equal to (.+)\.$", r"Phải nhỏ hơn hoặc bằng \1."),
    (r"^Must be greater than (.+)\.$", r"Phải lớn hơn \1."),
    (r"^Must be less than (.+)\.$", r"Phải nhỏ hơn \1."),
    (r"^Must be one of: (.+)\.$", r"Phải là một trong: \1."),
    (r"^Length must be between (.+) and (.+)\.$", r"Độ dài phải từ \1 đến \2."),
    (r"^Shorter than minimum length (.+)\.$", r"Ngắn hơn độ dài tối thiểu \1."),
    (r"^Longer than maximum length (.+)\.$", r"Dài hơn độ dài tối đa \1."),
    (r"^String does not match expected pattern\.$", "Không đúng định dạng."),
    (r"^Invalid value\.$", "Giá trị không hợp lệ."),
)]


def localise(message: str, locale: str) -> str:
    """``message`` in Vietnamese when ``locale`` is vi and the table knows it; otherwise
    as written (a plugin may write its messages in Vietnamese already)."""
    if not str(locale).startswith("vi"):
        return message
    for pattern, replacement in _VI:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message
