"""One place for the task-score bounds (issue 23, item 2), both databases: a scoring
variant whose task score leaves 0–70 (tests/plugins/unbounded.py: 325 for a week, -1
otherwise) is refused on every period kind — the month's recalculation, a week, a day,
a quarter, the what-if preview, the explain API and the pages — with a message naming
the component, its version and the value, never clamped into range."""

from __future__ import annotations

import html
import math
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from core.extensions import db
from core.plugins.components import ScoringVariant
from core.plugins.manager import TaskScoreOutOfBounds
from core.scoring.kernel import checked_task_score
from tests.conftest import make_app
from tests.dashboards.test_dashboards import sign_in
from tests.work.test_work_support import build, declare

pytest_plugins = ("tests.work.test_work_support",)
ROOT = Path(__file__).resolve().parents[2]
SLUG = "tinh-bug"
PERIOD = "2026-10"


def refused(period: str, value: str) -> str:
    return (f"The scoring variant 'test-unbounded' version 0.1.0 returned a task score of {value} for {period}, "
            "outside 0–70: a fault of that plugin; nothing was scored. Ask its vendor for a fix, or choose "
            "another scoring variant.")


@pytest.fixture
def buggy(clean_app, backend, tmp_path, tmp_path_factory, clock):
    """An app whose tenant SLUG has the buggy variant as a tenant-local plugin."""
    (tmp_path / "tenants" / SLUG).mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "plugins" / "unbounded.py", tmp_path / "tenants" / SLUG / "plugin.py")
    app = make_app(backend, tmp_path_factory, CONGVU_TENANTS_DIR=str(tmp_path / "tenants"))
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def assert_409(r, period: str, value: str) -> None:
    body = r.get_json()
    assert r.status_code == 409, body
    assert body["code"] == "task_score_out_of_bounds"
    assert body["message"] == refused(period, value)


def test_a_task_score_out_of_bounds_is_refused_on_every_period_kind(buggy):
    client = buggy.test_client()
    w = build(buggy, SLUG)

    # Previewed before it is chosen: the what-if refuses it and saves nothing.
    r = client.post(w.url("/what-if"), json={"period": PERIOD, "key": "test-unbounded", "settings": {}},
                    headers=w.h("admin"))
    assert_409(r, PERIOD, "-1.0")

    r = client.patch(w.url("/settings"), json={"scoring_variant": {"key": "test-unbounded", "settings": {}}},
                     headers=w.h("admin"))
    assert r.status_code == 200, r.get_json()

    # The day's work still goes in; its month is marked stale with the reason.
    item = declare(client, w, quantity=2)["id"]
    r = client.patch(w.url(f"/work-items/{item}"), json={"status": "done"}, headers=w.h("staff"))
    assert r.status_code == 200, r.get_json()
    declare(client, w, quantity=1)
    state = client.get(w.url(f"/periods/{PERIOD}"), headers=w.h("admin")).get_json()
    assert state["stale"] is True and state["stale_reason"] == refused(PERIOD, "-1.0")

    # The month: the recalculation job fails with the message.
    r = client.post(w.url("/recalculations"), json={"period": PERIOD}, headers=w.h("admin"))
    assert r.status_code == 202, r.get_json()
    job = client.get(w.url(f"/jobs/{r.get_json()['job_id']}"), headers=w.h("admin")).get_json()
    assert job["status"] == "failed" and job["error"] == refused(PERIOD, "-1.0")

    # A week (325), a day and a quarter (-1): 409, not 500, and not 70 or 0.
    for period, value in (("2026-W42", "325.0"), ("2026-10-14", "-1.0"), ("2026-Q4", "-1.0")):
        r = client.get(w.url(f"/scores?period={period}&employee_id={w.ids['staff']}"), headers=w.h("admin"))
        assert_409(r, period, value)

    r = client.post(w.url("/what-if"), json={"period": PERIOD, "key": "test-unbounded", "settings": {}},
                    headers=w.h("admin"))
    assert_409(r, PERIOD, "-1.0")

    r = client.get(w.url(f"/employees/{w.ids['staff']}/scores/{PERIOD}/explain"), headers=w.h("admin"))
    assert_409(r, PERIOD, "-1.0")

    # The pages show it where the numbers would be.
    sign_in(client, w, "staff", lang="en")
    r = client.get(f"/t/{SLUG}/me?period={PERIOD}")
    assert r.status_code == 200
    assert refused(PERIOD, "-1.0") in html.unescape(r.get_data(as_text=True))
    r = client.get(f"/t/{SLUG}/me/trend?by=week&period={PERIOD}")
    assert r.status_code == 200
    assert "'test-unbounded' version 0.1.0 returned a task score of 325.0 for 2026-W" in \
        html.unescape(r.get_data(as_text=True))


@pytest.mark.parametrize("value", [70.0001, -0.01, 325, math.nan, math.inf, None, "50", True])
def test_only_numbers_from_0_to_70_pass(value):
    class Chosen:
        component = ScoringVariant()  # the default ceiling, task_score_max = 70

        @staticmethod
        def stamp():
            return {"key": "k", "version": "1.2.3", "settings_hash": "h"}

    with pytest.raises(TaskScoreOutOfBounds) as caught:
        checked_task_score(Chosen, {"task_score": value}, "2026-10")
    assert f"'k' version 1.2.3 returned a task score of {value!r} for 2026-10" in caught.value.message
    assert caught.value.code == "task_score_out_of_bounds" and caught.value.status == 409
    assert checked_task_score(Chosen, {"task_score": 70}, "2026-10") == 70.0
    assert checked_task_score(Chosen, {"task_score": Decimal("0")}, "2026-10") == 0.0
    assert checked_task_score(Chosen, {"task_score": 58.25}, "2026-W42") == 58.25


def test_the_ceiling_is_the_variants_own():
    """A variant for a rule with another split of the 100 points names its ceiling
    (task_score_max): 60 passes, 60.01 is refused with 60 in the message."""
    class Sixty(ScoringVariant):
        task_score_max = 60.0

    class Chosen:
        component = Sixty()

        @staticmethod
        def stamp():
            return {"key": "k60", "version": "1.0.0", "settings_hash": "h"}

    assert checked_task_score(Chosen, {"task_score": 60}, "2026-10") == 60.0
    with pytest.raises(TaskScoreOutOfBounds) as caught:
        checked_task_score(Chosen, {"task_score": 60.01}, "2026-10")
    assert "returned a task score of 60.01 for 2026-10, outside 0–60:" in caught.value.message
    assert caught.value.errors == {"task_score": ["60.01 is not a number from 0 to 60."]}
