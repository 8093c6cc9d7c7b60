"""An agency's decision in the audit log reads in Vietnamese for the inspector (both
databases): who signs it, its scope and status in words, and the levels it froze person by
person by name — not {"12": "HTT"} beside English keys."""

from __future__ import annotations

import html as html_lib
import re

from tests.classification.test_evaluation_procedure import open_agency, step
from tests.work.test_work_pages import sign_in

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")


def test_the_decision_event_names_people_and_words_its_fields(clean_app, proc, client):
    w = proc
    assert open_agency(client, w).status_code == 200
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", boss), ("meeting", boss)):
            assert step(client, w, who, name, kind).status_code == 200, (name, kind)
    r = client.post(w.url(f"/evaluations/2026/agencies/{w.ids['agency']}/decision"),
                    json={"scope": "staff", "confirmation": "AG 2026"}, headers=w.h("head"))
    assert r.status_code == 201, r.get_json()
    sign_in(client, w, "auditor")
    page = client.get(f"/t/{w.slug}/admin/audit", query_string={"action": "evaluation.decide"}).get_data(as_text=True)
    row = html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    assert "Người ký Người head" in row and "Chức vụ người ký Chuyên viên" in row
    assert f"Người ký (hồ sơ) Người head (HEAD) · #{w.ids['head']}" in row
    assert "Phạm vi công chức, viên chức, người lao động" in row and "Trạng thái đã quyết định" in row
    assert "Đã ký số không" in row
    assert f"Cơ quan Sở Nội vụ (AG) · #{w.ids['agency']}" in row
    # By name; the people the scheme left unclassified (the admin, the auditor …) with "—".
    assert (f"Người manager (MANAGER) · #{w.ids['manager']}: HTT; Người outsider (OUTSIDER) · #{w.ids['outsider']}: "
            f"—; Người staff (STAFF) · #{w.ids['staff']}: HTT; Người staff2 (STAFF2) · #{w.ids['staff2']}: HTT") in row
