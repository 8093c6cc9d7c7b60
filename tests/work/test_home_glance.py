"""The home page's first screen (both databases): a person's day at a glance (declared,
done, open, refused, carried over, overdue, planned time) and what waits for a manager,
each counted in one query, only the person's own items and only the manager's people."""

from __future__ import annotations

import re

from core import unit_of_work
from core.auth.models import User
from core.auth.services import principal_for_user
from core.extensions import db
from core.tenancy import tenant_context
from core.work import services as work
from core.work.models import WorkItem
from tests.work.test_manager_pages import _user_of, finish
from tests.work.test_work_pages import sign_in
from tests.work.test_work_support import World, count_queries, declare

pytest_plugins = ("tests.work.test_work_support",)


def _refuse(app, w: World, item_id: int) -> None:
    with app.app_context(), tenant_context(w.tenant_id):
        manager = principal_for_user(db.session.get(User, _user_of(w, "manager")))
        work.verify(manager, db.session.get(WorkItem, item_id), False, "Không thuộc nhiệm vụ")
        unit_of_work.commit()


def _glance(html: str) -> str:
    found = re.search(r'data-testid="day-glance">(.*?)</section>', html, re.S)
    assert found, "no day at a glance on the page"
    return " ".join(found.group(1).split())


def test_a_persons_day_at_a_glance_counts_only_their_items_exactly(client, world, clean_app):
    w = world
    ids = [declare(client, w, complexity_level=2)["id"] for _ in range(3)]
    finish(clean_app, w, "staff", [ids[0]])
    _refuse(clean_app, w, ids[2])
    declare(client, w, work_date="2026-10-12", deadline="2026-10-13", complexity_level=2)  # overdue
    declare(client, w, work_date="2026-10-13", complexity_level=2)  # open, no deadline
    done_earlier = declare(client, w, work_date="2026-10-12", complexity_level=2)["id"]
    finish(clean_app, w, "staff", [done_earlier])
    declare(client, w, who="staff2", complexity_level=2)

    sign_in(client, w, "staff")
    with count_queries(clean_app) as statements:
        r = client.get(f"/t/{w.slug}/")
    assert r.status_code == 200
    glance = _glance(r.get_data(as_text=True))
    # Two items of today live (the refused one aside), one done, one open, 2 × 60 min.
    assert "Đã khai báo 2 việc · 1 đã xong · 1 đang làm · thời gian dự kiến <strong>2 h 00</strong>" in glance
    assert "Lãnh đạo đã từ chối 1 việc khai báo hôm nay" in glance
    assert "2 việc của những ngày trước chưa xong" in glance and "1 việc quá hạn" in glance
    assert "Báo cáo kết quả hôm nay" in glance and f'href="/t/{w.slug}/today"' in glance
    assert sum("work_items" in s for s in statements) <= 2  # the glance is one query (+ the manager's, none here)


def test_nothing_declared_yet_offers_to_declare(client, world):
    sign_in(client, world, "staff")
    glance = _glance(client.get(f"/t/{world.slug}/").get_data(as_text=True))
    assert "Hôm nay chưa khai báo việc nào." in glance and "Khai báo việc hôm nay" in glance
    assert "quá hạn" not in glance and "ngày trước" not in glance


def test_the_manager_reads_what_waits_for_them_and_only_their_peoples(client, world, clean_app):
    w = world
    pending = [declare(client, w, complexity_level=2)["id"] for _ in range(2)]
    finish(clean_app, w, "staff", [pending[0]])  # done and still unchecked: in both lists, as the queue has it
    declare(client, w, who="outsider", complexity_level=2)  # Phòng Hai: not the manager's
    declare(client, w, who="manager", complexity_level=2)  # the manager's own: never their queue

    sign_in(client, w, "manager")
    html = client.get(f"/t/{w.slug}/").get_data(as_text=True)
    waiting = " ".join(re.search(r'data-testid="waiting-review">(.*?)</p>', html, re.S).group(1).split())
    assert "2 việc khai báo cần duyệt" in waiting and "1 việc đã xong cần đánh giá" in waiting
    assert f'href="/t/{w.slug}/unit?state=reviews#queue"' in waiting
    # The same numbers the queue shows.
    for state, n in (("declarations", 2), ("reviews", 1)):
        page = client.get(f"/t/{w.slug}/unit?state={state}").get_data(as_text=True)
        assert re.search(rf'data-testid="queue-count"><strong>\d+/{n}</strong>', page)

    sign_in(client, w, "staff")
    assert 'data-testid="waiting-review"' not in client.get(f"/t/{w.slug}/").get_data(as_text=True)


def test_the_glance_speaks_english_on_request(client, world):
    declare(client, world, complexity_level=2)
    sign_in(client, world, "staff")
    with client.session_transaction() as session:
        session["lang"] = "en"
    glance = _glance(client.get(f"/t/{world.slug}/").get_data(as_text=True))
    assert "1 item declared · 0 done · 1 open" in glance and "Report today's results" in glance
