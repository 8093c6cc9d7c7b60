"""Who acts next on a person's evaluation, as their page says it (both databases): after each
step the next one and who takes it, not the manager's proposal again once it is done."""

from __future__ import annotations

from tests.classification.test_evaluation_pages import page
from tests.classification.test_evaluation_procedure import open_agency, step

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")


def _next(html: str) -> str:
    start = html.index('<p id="next-step" class="notice">') + len('<p id="next-step" class="notice">')
    return html[start:html.index("</p>", start)]


def test_the_next_step_follows_each_step_taken(clean_app, proc, client):
    w = proc
    assert open_agency(client, w).status_code == 200
    assert _next(page(client, w, "staff")) == "Bước tiếp theo: tự đánh giá, do bạn thực hiện, hạn 15/12/2026."
    assert step(client, w, "staff", "staff", "self").status_code == 200
    assert _next(page(client, w, "staff")) == (
        "Bước tiếp theo: nhận xét, đề xuất của người quản lý, do Người manager thực hiện, hạn 15/12/2026.")
    assert step(client, w, "manager", "staff", "manager").status_code == 200
    assert _next(page(client, w, "staff")) == (
        "Bước tiếp theo: họp tập thể, do Người manager thực hiện, hạn 15/12/2026.")
    assert step(client, w, "manager", "staff", "meeting").status_code == 200
    assert _next(page(client, w, "staff")) == "Bước tiếp theo: quyết định, do Người head thực hiện, hạn 15/12/2026."
