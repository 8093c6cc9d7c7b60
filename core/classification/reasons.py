"""Why a classification's level was changed when a decision or an appeal changed it:
stored in Vietnamese, shown in the reader's language.

A level set by an agency's decision or by an upheld appeal keeps, as its override reason,
which decision or appeal set it. The row is read by people (the audit log, a Vietnamese
document, a hand-run query, a CSV export) in Vietnamese first, so that is what is stored:
"Quyết định #7", "Khiếu nại #12: <the resolver's reason>" — the record's number, with a
"#": "Quyết định số 7" would read, in a Vietnamese document, as the official number of a
signed decision ("số 7/QĐ-SNV"), which this is not. Pages and the API show it
in their own language through `shown`; a reason someone typed is shown as typed. Rows
written before (in English, "Decision 7", "Appeal 12: …") are read the same way.
"""

from __future__ import annotations

import re

from flask import has_request_context, request
from flask_babel import force_locale, gettext

# The stored forms: the platform's first language, fixed (never the request's).
DECISION = "Quyết định #{id}"
APPEAL = "Khiếu nại #{id}: {reason}"
_DECISION = re.compile(r"(?:Quyết định #|Decision )(\d+)")
_APPEAL = re.compile(r"(?:Khiếu nại #|Appeal )(\d+): (.*)", re.S)


def decision_reason(decision_id: int) -> str:
    return DECISION.format(id=decision_id)


def appeal_reason(appeal_id: int, reason: str) -> str:
    return APPEAL.format(id=appeal_id, reason=reason)


def _in_locale(stored: str) -> str:
    if found := _DECISION.fullmatch(stored):
        return gettext("Decision %(id)s", id=found.group(1))
    if found := _APPEAL.fullmatch(stored):
        return gettext("Appeal %(id)s: %(reason)s", id=found.group(1), reason=found.group(2))
    return stored


def shown(stored: str | None, language: str | None = None) -> str | None:
    """`stored` in `language` ("vi" or "en"); by default the reader's: an API caller's
    (English unless it asked for Vietnamese, the API's contract), a page's locale, else
    Vietnamese (documents, jobs)."""
    if not stored:
        return stored
    if language is None and has_request_context() and request.path.startswith("/api/"):
        from core.errors import api_wants_vietnamese

        language = "vi" if api_wants_vietnamese() else "en"
    if language is None and not has_request_context():
        language = "vi"
    if language is None:
        return _in_locale(stored)
    with force_locale(language):
        return _in_locale(stored)
