"""What each audit action means, for people to read: `work_item.review` is shown as
"Đánh giá công việc" with the stored action beside it (the hash covers the stored one).
An action not listed (a plugin's, a test's) shows as stored."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Failed sign-in"),
    "auth.logout": _l("Signed out"),
    "auth.password_changed": _l("Changed the password"),
    "auth.password_reset": _l("Reset the password"),
    "auth.sso_failed": _l("Failed single sign-on"),
    "auth.sso_login_created": _l("Created a login at single sign-on"),
    "bonus.request": _l("Requested a bonus run"),
    "bonus.run": _l("Ran the bonus"),
    "calendar_day.delete": _l("Removed a calendar day"),
    "calendar_day.set": _l("Set a calendar day"),
    "classification.appeal": _l("Appealed a classification"),
    "classification.appeal_resolve": _l("Resolved an appeal"),
    "classification.finalize": _l("Finalised the classification"),
    "classification.override": _l("Changed a person's level"),
    "classification.run": _l("Ran the classification"),
    "competency.create": _l("Added a competency"),
    "competency.delete": _l("Deleted a competency"),
    "competency.update": _l("Changed a competency"),
    "decision.issue": _l("Issued a decision"),
    "decision.sign": _l("Attached the signed decision"),
    "demo.create": _l("Created the demo"),
    "deputy_field.create": _l("Assigned a deputy's field"),
    "deputy_field.delete": _l("Removed a deputy's field"),
    "deputy_field.update": _l("Changed a deputy's field"),
    "discipline.create": _l("Recorded a discipline"),
    "discipline.delete": _l("Deleted a discipline record"),
    "document_template.reset": _l("Restored the default template"),
    "document_template.upload": _l("Uploaded a template"),
    "employee.create": _l("Added a person"),
    "employee.delete": _l("Deleted a person"),
    "employee.regime": _l("Set a person's legal regime"),
    "employee.update": _l("Changed a person"),
    "evaluation.appeal": _l("Appealed an evaluation"),
    "evaluation.appeal_resolve": _l("Resolved an evaluation appeal"),
    "evaluation.decide": _l("Decided the evaluation"),
    "evaluation.late_override": _l("Allowed late evaluation work"),
    "evaluation.level_changed": _l("Changed a level after an appeal"),
    "evaluation.open": _l("Opened the evaluation"),
    "evaluation.procedure": _l("Changed the evaluation procedure"),
    "evaluation.reopen": _l("Reopened the evaluation"),
    "evaluation.sign": _l("Attached the signed evaluation decision"),
    "evaluation.self": _l("Self-assessment"),
    "evaluation.manager": _l("Manager's comments and proposal"),
    "evaluation.meeting": _l("Collective meeting"),
    "evaluation.decision": _l("Competent person's decision"),
    "general_score.propose": _l("Proposed own general criteria"),
    "general_score.set": _l("Set the general criteria"),
    "import.commit": _l("Imported data"),
    "leave.create": _l("Recorded leave"),
    "leave.delete": _l("Deleted leave"),
    "live_source.create": _l("Added a live source"),
    "live_source.update": _l("Changed a live source"),
    "period.close": _l("Closed a period"),
    "period.reopen": _l("Reopened a period"),
    "position.competencies": _l("Set a position's competencies"),
    "position.create": _l("Added a position"),
    "position.delete": _l("Deleted a position"),
    "position.update": _l("Changed a position"),
    "scores.recalculate": _l("Recalculated the scores"),
    "settings.update": _l("Changed the settings"),
    "sso.settings_changed": _l("Changed single sign-on"),
    "sso.settings_removed": _l("Removed single sign-on"),
    "task_type.create": _l("Added a task type"),
    "task_type.delete": _l("Deleted a task type"),
    "task_type.update": _l("Changed a task type"),
    "tenant.create": _l("Created the province"),
    "tenant.merge": _l("Merged a province in"),
    "tenant.merged": _l("Merged into another province"),
    "tenant.update": _l("Renamed the province"),
    "tenant.suspend": _l("Suspended the province"),
    "tenant.resume": _l("Reopened the province"),
    "unit.create": _l("Added a unit"),
    "unit.delete": _l("Deleted a unit"),
    "unit.merge": _l("Merged units"),
    "unit.update": _l("Changed a unit"),
    "user.activate": _l("Activated a login"),
    "user.create": _l("Created a login"),
    "user.deactivate": _l("Deactivated a login"),
    "user.roles": _l("Changed a login's roles"),
    "webhook.create": _l("Added a webhook"),
    "webhook.delete": _l("Deleted a webhook"),
    "webhook.replay": _l("Resent a webhook delivery"),
    "webhook.update": _l("Changed a webhook"),
    "work_item.create": _l("Declared a work item"),
    "work_item.update": _l("Updated a work item"),
    "work_item.complete": _l("Completed a work item"),
    "work_item.cancel": _l("Cancelled a work item"),
    "work_item.exempt": _l("Exempted a work item"),
    "work_item.extend": _l("Extended a deadline"),
    "work_item.refuse": _l("Refused a work item's verification"),
    "work_item.remind": _l("Sent a reminder"),
    "work_item.review": _l("Reviewed a work item"),
    "work_item.verify": _l("Verified a work item"),
    "work_settings.update": _l("Changed the work settings"),
}


def label(action: str) -> str:
    """The action as read, or "" when it has no name (the stored one is shown alone)."""
    found = ACTIONS.get(action)
    return str(found) if found is not None else ""


def choices(current: str = "") -> list[tuple[str, str]]:
    """The action filter's options: every named action as read, in the reader's
    alphabetical order, and an unnamed one (a plugin's) as stored when it is the one
    filtered on, so a typed or linked filter stays shown."""
    out = sorted(((key, str(words)) for key, words in ACTIONS.items()), key=lambda pair: pair[1].casefold())
    if current and current not in ACTIONS:
        out.append((current, current))
    return out
