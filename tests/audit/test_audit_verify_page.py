"""An inspector checks the audit chain from the audit page (both databases), as
`congvu audit verify` does on a command line they do not have: an intact log of exactly
40 events says so with its signed checkpoint; an edited event says the log is not intact
and at which event; a person without the inspector's roles is refused; a GET starts
nothing (the check reads the whole log)."""

from __future__ import annotations

import html as htmllib
import re

from tests.audit.test_audit_checkpoints import forty, owner_sql  # noqa: F401 (fixtures)
from tests.tenancy.test_isolation import page_session


def _text(page: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _check(app, w, who: str = "auditor"):
    client, token = page_session(app, w, who)
    return client.post(f"/t/{w.slug}/admin/audit/verify", data={"csrf_token": token})


def test_an_intact_log_says_so_with_its_checkpoint(clean_app, client, forty):  # noqa: F811
    response = _check(clean_app, forty)
    assert response.status_code == 200
    words = _text(response.get_data(as_text=True))
    assert "Nhật ký nguyên vẹn" in words
    assert "Đã kiểm tra 40 sự kiện: không sự kiện nào bị sửa, xóa hay đổi thứ tự." in words
    assert "khớp với mốc đã ký lúc" in words and "(STT 40)" in words
    assert "không còn nguyên vẹn" not in words


def test_an_edited_event_is_found_and_numbered(clean_app, client, backend, forty):  # noqa: F811
    owner_sql(backend, "UPDATE audit_events SET object_id = 'x' WHERE tenant_id = :t AND seq = 17",
              t=forty.tenant_id)
    response = _check(clean_app, forty)
    assert response.status_code == 200
    words = _text(response.get_data(as_text=True))
    assert "Nhật ký không còn nguyên vẹn" in words
    assert "Sai lệch đầu tiên ở sự kiện STT 17." in words
    assert "Nhật ký nguyên vẹn" not in words


def test_the_check_is_the_inspectors_and_a_post(clean_app, client, forty):  # noqa: F811
    admin, _token = page_session(clean_app, forty, "admin")
    assert f'action="/t/{forty.slug}/admin/audit/verify"' in admin.get(f"/t/{forty.slug}/admin/audit").get_data(
        as_text=True)
    assert admin.get(f"/t/{forty.slug}/admin/audit/verify").status_code == 405
    for who in ("manager", "staff"):
        assert _check(clean_app, forty, who).status_code == 403, who
