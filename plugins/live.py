"""Built-in live connectors: records pulled from another system's HTTP API on a schedule,
through an import connector's checks and all-or-nothing writer.

- ``rest-json``: any JSON API described by settings — the URL, where the records are in
  a page, how the next page is asked for, and which field of a record fills which column
  of the import connector.
- ``one-stop-api``: the one-stop-shop (một cửa) system's finished dossiers with the
  citizen's rating, as work items of their handlers (through ``one-stop-dossiers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.plugins.toolkit import LiveConnector, LivePage, Schema, fields, hookimpl, validate

VERSION = "1.0.0"


def dig(record: Any, path: str) -> Any:
    """The value at a dotted path ("data.items", "handler.code"); None when absent."""
    value = record
    for part in (p for p in path.split(".") if p):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _headers(settings: Mapping[str, Any]) -> dict[str, str]:
    header = (settings.get("auth_header") or "").strip()
    if not header:
        return {}
    name, _, value = header.partition(":")
    return {name.strip(): value.strip()}


def _page(get: Any, settings: Mapping[str, Any], cursor: str | None, items_path: str, cursor_path: str,
          field_map: Mapping[str, str]) -> LivePage:
    params = {settings["cursor_param"]: cursor} if cursor else {}
    params.update({settings["page_size_param"]: settings["page_size"]} if settings.get("page_size_param") else {})
    body = get(settings["url"], params, _headers(settings))
    items = dig(body, items_path)
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise ValueError(f"The page has no list of records at '{items_path}'.")
    records = [{column: dig(item, source) for column, source in field_map.items()} if field_map else dict(item)
               for item in items]
    next_cursor = dig(body, cursor_path)
    return {"records": records, "cursor": None if next_cursor in (None, "") else str(next_cursor),
            "more": bool(items) and next_cursor not in (None, "") and str(next_cursor) != (cursor or "")}


class RestJsonSettings(Schema):
    url = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "label_vi": "Địa chỉ API", "label_en": "API address"})
    auth_header = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "label_vi": "Tiêu đề xác thực (vd. Authorization: Bearer …)", "label_en": "Authentication header"})
    import_connector = fields.String(load_default="work-items-csv", validate=validate.Length(min=1, max=100),
                                     metadata={"label_vi": "Trình nhập dữ liệu nhận bản ghi",
                                               "label_en": "Import connector the records go through"})
    items_path = fields.String(load_default="items", validate=validate.Length(max=200), metadata={
        "label_vi": "Vị trí danh sách bản ghi trong trang", "label_en": "Where a page holds its records"})
    next_cursor_path = fields.String(load_default="next_cursor", validate=validate.Length(max=200), metadata={
        "label_vi": "Vị trí con trỏ trang sau", "label_en": "Where a page holds the next cursor"})
    cursor_param = fields.String(load_default="cursor", validate=validate.Length(min=1, max=100), metadata={
        "label_vi": "Tham số gửi con trỏ", "label_en": "Query parameter carrying the cursor"})
    page_size_param = fields.String(load_default="", validate=validate.Length(max=100), metadata={
        "label_vi": "Tham số cỡ trang", "label_en": "Query parameter for the page size"})
    page_size = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000), metadata={
        "label_vi": "Số bản ghi mỗi trang", "label_en": "Records per page"})
    field_map = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                            values=fields.String(validate=validate.Length(min=1, max=200)), load_default=dict,
                            metadata={"label_vi": "Cột ← trường của bản ghi",
                                      "label_en": "Column ← field of the record"})


class RestJson(LiveConnector):
    key = "rest-json"
    version = VERSION
    title_vi = "API JSON (cấu hình theo ánh xạ)"
    title_en = "JSON API (configured by a mapping)"
    description_vi = "Lấy bản ghi từ một API JSON bất kỳ theo trang, ánh xạ trường sang cột của trình nhập dữ liệu."
    description_en = "Pulls records page by page from any JSON API, mapping fields onto an import connector's columns."
    settings_schema = RestJsonSettings

    def import_connector_for(self, settings: Mapping[str, Any]) -> str:
        return settings["import_connector"]

    def settings_errors(self, settings: Mapping[str, Any]) -> dict[str, list[str]]:
        return {} if settings.get("url") else {"url": ["Required."]}

    def fetch_page(self, get: Any, settings: Mapping[str, Any], cursor: str | None) -> LivePage:
        return _page(get, settings, cursor, settings["items_path"], settings["next_cursor_path"],
                     settings["field_map"])


class OneStopSettings(Schema):
    url = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "label_vi": "Địa chỉ API hồ sơ đã giải quyết", "label_en": "Finished-dossiers API address"})
    auth_header = fields.String(load_default="", validate=validate.Length(max=500), metadata={
        "label_vi": "Tiêu đề xác thực", "label_en": "Authentication header"})
    page_size = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000), metadata={
        "label_vi": "Số hồ sơ mỗi trang", "label_en": "Dossiers per page"})


# The one-stop system's JSON (its Vietnamese field names) → one-stop-dossiers' columns.
ONE_STOP_FIELDS = {
    "dossier_code": "MaHoSo", "procedure_code": "MaThuTuc", "procedure_name": "TenThuTuc",
    "handler_code": "MaCanBoXuLy", "received_at": "NgayTiepNhan", "due_at": "NgayHenTra",
    "finished_at": "NgayKetThucXuLy", "result": "KetQua", "citizen_rating": "DanhGiaHaiLong",
}


class OneStopApi(LiveConnector):
    key = "one-stop-api"
    version = VERSION
    title_vi = "Hệ thống một cửa (hồ sơ đã giải quyết)"
    title_en = "One-stop-shop system (finished dossiers)"
    description_vi = "Hồ sơ đã giải quyết và đánh giá của người dân thành công việc của cán bộ xử lý."
    description_en = "Finished dossiers and the citizen's rating become work items of their handlers."
    settings_schema = OneStopSettings
    import_connector = "one-stop-dossiers"

    def settings_errors(self, settings: Mapping[str, Any]) -> dict[str, list[str]]:
        return {} if settings.get("url") else {"url": ["Required."]}

    def fetch_page(self, get: Any, settings: Mapping[str, Any], cursor: str | None) -> LivePage:
        fixed = {**settings, "cursor_param": "tuNgay", "page_size_param": "soLuong"}
        return _page(get, fixed, cursor, "data", "conTro", ONE_STOP_FIELDS)


@hookimpl
def congvu_live_connectors():
    return [RestJson(), OneStopApi()]
