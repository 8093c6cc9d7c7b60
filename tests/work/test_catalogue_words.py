"""The catalogue on "Hôm nay" says what a person needs to know: each type's group as
"Nhóm B" (not a lone letter), and an empty catalogue as empty — someone whose position
has no task types yet is told to ask the admin, not that their (untyped) search found
nothing."""

from __future__ import annotations

import re

import pytest

from tests.work.test_work_pages import sign_in
from tests.work.test_work_support import build

pytest_plugins = ("tests.work.test_work_support",)


def test_each_type_shows_its_group_in_words(client, world):
    sign_in(client, world, "staff")
    html = client.get(f"/t/{world.slug}/today").get_data(as_text=True)
    tags = re.findall(r'<span class="cat-name"><span class="tag">([^<]*)</span>', html)
    assert tags and set(tags) <= {"Nhóm A", "Nhóm B", "Nhóm C", "Nhóm D"}


@pytest.fixture
def bare(clean_app, clock):
    """A province whose catalogue is still empty."""
    return build(clean_app, "tinh-rong", catalogue_too=False)


def test_an_empty_catalogue_says_to_ask_the_admin(client, bare):
    sign_in(client, bare, "staff")
    html = client.get(f"/t/{bare.slug}/today").get_data(as_text=True)
    assert "Danh mục của vị trí việc làm của bạn chưa có loại việc nào" in html
    assert "Không có loại việc nào phù hợp." not in html


def test_a_search_that_finds_nothing_still_says_so(client, world):
    sign_in(client, world, "staff")
    fragment = client.get(f"/t/{world.slug}/today/catalogue?q=khong-co-dau").get_data(as_text=True)
    assert "Không có loại việc nào phù hợp." in fragment and "chưa có loại việc nào" not in fragment
