"""A setting with a fixed set of values reads in words: the settings form, the what-if
form and the components overview name each value in the reader's language (Decree 335's
source of a leader's leadership score), never by its code."""

from __future__ import annotations

import re

import pytest

from core.plugins.forms import describe_settings, settings_lines, stored_settings_lines
from core.scoring.stamps import snapshot
from plugins.decree335 import LEADERSHIP_SOURCES, Decree335
from tests.admin.test_admin_pages import sign_in
from tests.factories import build_world

# A code as a word of its own ("evaluator", not "The evaluator's score").
CODES = re.compile(r"(?<![\w'])(?:" + "|".join(LEADERSHIP_SOURCES) + r")(?![\w'])")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_choice_of_decree335_has_words(lang):
    field = next(f for f in describe_settings(Decree335(), lang) if f["type"] == "choice")
    assert [c["value"] for c in field["choice_labels"]] == list(LEADERSHIP_SOURCES)
    words = [c["label"] for c in field["choice_labels"]]
    assert len(set(words)) == 3 and not any(CODES.search(w) for w in words + [field["label"]])
    other = next(f for f in describe_settings(Decree335(), "en" if lang == "vi" else "vi") if f["type"] == "choice")
    assert words != [c["label"] for c in other["choice_labels"]]


def test_the_settings_lines_read_a_choice_by_its_words():
    lines = dict(settings_lines(Decree335(), {"leader_leadership_source": "on_time"}, "vi", "có", "không"))
    assert list(lines.values()) == ["Chỉ tỷ lệ việc của đơn vị đúng hạn"]


@pytest.mark.parametrize(("lang", "words"), [("vi", "Chỉ tỷ lệ việc của đơn vị đúng hạn"), ("en", None)])
def test_a_months_stamp_keeps_a_choices_words(lang, words):
    """The words a month's scores were made under are kept with its stamp ("Tháng của tôi"
    reads them from there, even once the plugin is gone): a choice by its words too."""
    kept = snapshot(Decree335(), {"leader_leadership_source": "on_time"})["labels"]["settings"]
    lines = dict(stored_settings_lines(kept, {"leader_leadership_source": "on_time"}, lang, "có", "không"))
    live = dict(settings_lines(Decree335(), {"leader_leadership_source": "on_time"}, lang, "có", "không"))
    assert lines == live
    assert not CODES.search(next(iter(lines.values())))
    if words:
        assert list(lines.values()) == [words]


@pytest.fixture
def admin(clean_app, client):
    world = build_world(clean_app, "tinh-c", client)
    sign_in(clean_app, client, world, "admin")
    return world


@pytest.mark.parametrize("path", ["/admin/components/scoring_variant/decree335", "/admin/what-if?key=decree335"])
def test_the_forms_offer_words_and_submit_the_code(client, admin, path):
    html = client.get(f"/t/{admin.slug}{path}").get_data(as_text=True)
    select = re.search(r'<select id="s-leader_leadership_source"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select)
    assert [v for v, _ in options] == list(LEADERSHIP_SOURCES)
    assert not any(CODES.search(text) for _, text in options)
    # Nothing else on the page shows a code to the reader (the default, the label).
    assert not CODES.search(re.sub(r'value="[^"]*"', "", html))


def test_an_auditor_reads_the_enabled_connectors_by_their_titles(clean_app, client, admin):
    """An auditor cannot tick connectors; the list they read names them, not by key."""
    r = client.patch(f"/api/v1/tenants/{admin.slug}/settings", json={"import_connectors": ["staff-csv"]},
                     headers=admin.headers("admin"))
    assert r.status_code == 200
    sign_in(clean_app, client, admin, "auditor")
    html = client.get(f"/t/{admin.slug}/admin/components").get_data(as_text=True)
    section = re.search(r'<section aria-labelledby="h-connectors">(.*?)</section>', html, re.S).group(1)
    assert re.findall(r"<li>([^<]*)</li>", section) == ["Danh sách cán bộ, công chức (CSV)"]
