"""English pages read the classification levels as words (both databases): HTXS, HTT, HT and
KHT are Vietnamese legal abbreviations, so the English classification and evaluation pages
say Excellent, Good, Completed and Not completed — in their tables (level_label, the code
in the <abbr> tooltip), in lists and labels ("Excellent (HTXS)", level_text) and in their
sentences ("Quota of Excellent against Good"). The walk signs in as each role of a
classified year, of a year under the evaluation procedure with a quota the meetings broke,
and of a person with a discipline, and fails on a code in what a reader sees or hears
outside a tooltip. The Vietnamese pages keep the codes (test_province_admin_pages.py)."""

from __future__ import annotations

import html as htmllib
import re

from core.i18n import LEVEL_WORDS
from tests.app.test_vietnamese_pages import visible_text
from tests.classification.test_classification_api import TOTALS_2026, run, set_totals
from tests.classification.test_evaluation_procedure import open_agency, step

pytest_plugins = ("tests.work.test_work_support", "tests.classification.test_evaluation_procedure")

LEVEL_CODE = re.compile(r"\b(?:HTXS|HTT|HT|KHT)\b")
# level_text's form, where no markup may go: the word, then the code it glosses.
GLOSSED = re.compile("|".join(rf"\b{re.escape(word)} \({code}\)" for code, word in LEVEL_WORDS.items()))
# What a phone shows (a stacked table's data-label) or a screen reader reads besides the
# text; a tooltip (title) is where the code belongs, so it is not read here.
READ_ATTRIBUTES = re.compile(r'\b(?:data-label|aria-label|placeholder|alt)="([^"]*)"')
PAGES = ("/classification?year=2026", "/classification/unit?year=2026", "/classification/province?year=2026",
         "/classification/2026/finalize", "/evaluation?year=2026")


def level_code_problems(path: str, page: str) -> list[str]:
    """Each level code an English reader meets in running text, with its surroundings."""
    shown = visible_text(page, attributes=False)
    read = " ".join(htmllib.unescape(m.group(1)) for m in READ_ATTRIBUTES.finditer(page))
    found = []
    for text in (shown, read):
        text = GLOSSED.sub(" ", text)
        found += [f"{path}: {m.group(0)!r} in {text[max(0, m.start() - 60):m.end() + 60]!r}"
                  for m in LEVEL_CODE.finditer(text)]
    return found


def english_pages(client, w, who: str) -> dict[str, str]:
    """The classification and evaluation pages `who` may open, in English, by path."""
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["lang"] = w.principals[who].get_id(), True, "en"
    pages = {}
    for path in PAGES:
        response = client.get(f"/t/{w.slug}{path}")
        assert response.status_code in (200, 403, 404), (who, path, response.status_code)
        if response.status_code == 200:
            page = response.get_data(as_text=True)
            assert '<html lang="en"' in page, (who, path)
            pages[path] = page
    return pages


def walk(client, w, roles) -> tuple[list[str], str]:
    """Every role's pages checked; the problems, and all the pages' text for the callers'
    checks that the sentences in question were on them."""
    problems, seen = [], []
    for who in roles:
        for path, page in english_pages(client, w, who).items():
            problems += [f"{who} {problem}" for problem in level_code_problems(path, page)]
            seen.append(visible_text(page, attributes=False))
    return problems, " ".join(seen)


def test_a_classified_year_reads_its_levels_as_words_in_english(clean_app, world, client):
    """The province page's quota and streamlining, a person's own level with a discipline
    that makes it KHT, the unit's review and the finalising page, for every role."""
    set_totals(clean_app, world, TOTALS_2026)
    body = {"employee_id": world.ids["staff2"], "kind": "reprimand", "decided_on": "2026-11-02", "reason": "QĐ 7"}
    assert client.post(world.url("/discipline-records"), json=body, headers=world.h("admin")).status_code == 201
    run(client, world)
    problems, seen = walk(client, world, ("admin", "auditor", "manager", "staff", "staff2"))
    assert problems == [], "\n".join(problems)
    # The sentences that used to carry the codes were on the pages walked, in words.
    assert "Quota of Excellent against Good" in seen
    assert "A discipline in the year, or another recorded ground for Not completed, makes the level Not completed." \
        in seen
    assert re.search(r"\d+ rated Not completed; \d+ in positions with more people than their measured need\.", seen)
    assert "rated Not completed in 2026" in seen


def test_the_evaluation_procedure_reads_its_levels_as_words_in_english(clean_app, proc, client):
    """staff's 95 moved from HTXS to HTT by the quota (his page, his manager's proposal), and
    the meetings propose HTXS again: the head's preview names the broken quota in words."""
    w = proc
    assert open_agency(client, w).status_code == 200
    assert step(client, w, "staff", "staff", "self").status_code == 200
    _, seen = walk(client, w, ("staff", "manager"))
    assert "Moved from Excellent to Good by the quota of your agency and group of positions." in seen
    assert "Excellent may be at most 20% of Good; the lowest totals move first." in seen
    assert "(moved from Excellent to Good by the quota)" in seen
    for name, boss in (("staff", "manager"), ("staff2", "manager"), ("manager", "head")):
        for kind, who in (("self", name), ("manager", boss), ("meeting", boss)):
            if (name, kind) == ("staff", "self"):
                continue
            level = "HTXS" if name == "staff" else "HTT"
            assert step(client, w, who, name, kind, level=level).status_code == 200, (name, kind)
    problems, seen = walk(client, w, ("admin", "head", "deputy", "manager", "staff", "staff2"))
    assert problems == [], "\n".join(problems)
    assert ("Over the quota: in the group Professional this decision would leave 1 rated Excellent for 4 rated "
            "Good; Excellent may be at most 20% of Good, that is 0.") in seen


def test_the_level_check_sees_what_it_looks_for():
    """A code in a sentence, a phone's label or a screen reader's label is found; the word
    with the code in its tooltip, level_text's "Excellent (HTXS)" and task codes pass."""
    page = ('<h2>Quota of HTXS against HTT</h2><td data-label="Level KHT">x</td><a aria-label="HT only">y</a>'
            '<th><abbr title="HTXS">Excellent</abbr></th><option>Good (HTT)</option><td data-label="Completed (HT)">'
            '</td><p>HT01</p><code>HTXS</code>')
    assert [problem.split(" in ")[0] for problem in level_code_problems("/x", page)] == [
        "/x: 'HTXS'", "/x: 'HTT'", "/x: 'KHT'", "/x: 'HT'"]
