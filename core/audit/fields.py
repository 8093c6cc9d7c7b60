"""What the fields of an audit event's before/after mean, for people to read: a change of
`level` HT → HTT is shown as "Mức xếp loại", the stored key in its tooltip (the hash
covers the stored JSON, which stays one click further). A key not listed shows as stored.

The keys are those the services record (employee_view, audit_view of a work item, the
classification's and the appeal's views, the catalogue's rows); a plugin's own keys show
as stored."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

FIELDS = {
    # A person and their login
    "code": _l("Code"), "full_name": _l("Full name"), "unit_id": _l("Unit (id)"),
    "position_code": _l("Position code"), "manager_id": _l("Manager (id)"), "is_leader": _l("Is a leader"),
    "salary_coefficient": _l("Salary coefficient"), "start_date": _l("Start date"), "end_date": _l("End date"),
    "email": _l("Email"), "username": _l("Username"), "roles": _l("Login roles"), "active": _l("Active"),
    "employee_id": _l("Person (id)"), "regime": _l("Regime"),
    # A person's classification, appeal and evaluation
    "year": _l("Year"), "level": _l("Classification level"), "computed_level": _l("Computed level"),
    "reason": _l("Reason"), "override": _l("Changed by hand"), "level_appealed": _l("Level appealed"),
    "status": _l("Status"), "filed_at": _l("Filed at"), "resolution": _l("Resolution"), "new_level": _l("New level"),
    "resolved_by": _l("Resolved by"), "resolved_at": _l("Resolved at"), "comment": _l("Comment"),
    "people": _l("People"), "levels": _l("Levels"), "scheme": _l("Scheme"), "appeal_until": _l("Appeals until"),
    "demoted_by_quota": _l("Lowered by the quota"), "months": _l("Months"),
    "recalculated": _l("Recalculated"), "changed_levels": _l("Levels changed (person: before → after)"),
    # An agency's decision (procedure.decision_view)
    "agency_id": _l("Agency"), "scope": _l("Scope"), "decided_by": _l("Decided by (login)"),
    "decided_at": _l("Decided at"),
    "decider_id": _l("Signatory (person)"), "decider_name": _l("Signatory"), "decider_title": _l("Signatory's title"),
    "signed": _l("Signed digitally"), "signed_at": _l("Signed at"), "signed_by": _l("Uploaded by"),
    "signer_id": _l("Signer (person)"), "signer_subject": _l("Certificate's subject"),
    "reopened_by": _l("Reopened by"), "reopened_at": _l("Reopened at"), "reopen_reason": _l("Reason for reopening"),
    # A work item
    "task_type_id": _l("Task type (id)"), "title": _l("Title"), "work_date": _l("Work day"),
    "quantity": _l("Quantity"), "complexity_level": _l("Complexity level"),
    "complexity_coefficient": _l("Complexity coefficient"), "norm_minutes": _l("Norm (minutes)"),
    "product_weight": _l("Product weight"), "progress": _l("Progress (%)"), "planned": _l("Planned"),
    "role": _l("Role"), "priority": _l("Priority"), "assigned_by_id": _l("Assigned by (id)"),
    "deadline": _l("Deadline"), "declared_at": _l("Declared at"), "completed_at": _l("Completed at"),
    "reported_at": _l("Reported at"), "result_note": _l("Result note"), "stars": _l("Stars"),
    "satisfaction": _l("Satisfaction"), "review_comment": _l("Review comment"), "exempt": _l("Exempt"),
    "exempt_reason": _l("Reason for the exemption"), "verification": _l("Verification"),
    "verification_note": _l("Verification note"), "failed_reviews": _l("Failed reviews"),
    "missed_deadlines": _l("Missed deadlines"),
    # Catalogues and settings
    "name": _l("Name"), "group": _l("Group"), "unit_of_measure": _l("Unit of measure"),
    "effective_from": _l("Effective from"), "max_quantity": _l("Largest quantity"),
    "position_codes": _l("Position codes"), "description": _l("Description"), "max_level": _l("Highest level"),
    "period": _l("Period"), "morning_cutoff": _l("Morning cut-off"), "timezone": _l("Time zone"),
    "scoring_variant": _l("Scoring variant"), "classification_scheme": _l("Classification scheme"),
    "bonus_scheme": _l("Bonus scheme"), "import_connectors": _l("Import connectors"),
    # Sign-ins and imports
    "address": _l("Address"), "via": _l("Made through"), "file": _l("File"), "rows": _l("Rows"),
    "new": _l("New"), "updated": _l("Updated"), "unchanged": _l("Unchanged"),
}


# Fields whose value is another row's id, and the object type that names it
# (core/audit/objects.py): "unit_id 42" reads as the unit's name and code, the id kept.
ID_FIELDS = {"unit_id": "unit", "manager_id": "employee", "employee_id": "employee", "deputy_id": "employee",
             "assigned_by_id": "employee", "task_type_id": "task_type", "position_id": "position",
             "agency_id": "unit", "decider_id": "employee", "signer_id": "employee"}

# Stored words some fields take, as read (a decision's status "decided", its scope "staff").
VALUE_WORDS = {
    "status": {"decided": _l("decided"), "reopened": _l("reopened"), "pending": _l("pending"),
               "upheld": _l("upheld"), "rejected": _l("rejected")},
    "scope": {"staff": _l("staff"), "leaders": _l("head and deputies")},
}


def referenced(sides: Iterable[Any]) -> set[tuple[str, str]]:
    """The (object type, id) pairs the id fields of events' before/after sides name."""
    out = set()
    for side in sides:
        if isinstance(side, dict):
            for key, kind in ID_FIELDS.items():
                value = side.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    out.add((kind, str(value)))
            # A decision's levels are keyed by the people's ids: named like any other id.
            levels = side.get("levels")
            if isinstance(levels, dict):
                out.update(("employee", str(k)) for k in levels)
    return out


def label(key: str) -> str:
    """The field as read, or "" when it has no name (the stored key is shown alone)."""
    found = FIELDS.get(key)
    return str(found) if found is not None else ""


def keyed_value(key: str, text: str | None) -> str | None:
    """A stored word of a field with words of its own (VALUE_WORDS), or None."""
    found = VALUE_WORDS.get(key, {}).get(text or "")
    return str(found) if found is not None else None


def value(text: str | None) -> str:
    """A changed value as read: JSON's null, true and false in words; anything else as is."""
    words = {"null": _("(empty)"), "true": _("yes"), "false": _("no")}
    return words.get(text, text) if text is not None else ""
