"""Telling people about decisions that concern them: an in-app notification always, and an
e-mail when the operator configured SMTP (CONGVU_SMTP_HOST, optionally CONGVU_SMTP_PORT,
CONGVU_SMTP_USER, CONGVU_SMTP_PASSWORD, CONGVU_MAIL_FROM).

Messages are written in the tenant's language (Vietnamese) when they are created: a
notification is a record of what the person was told, so it must not change when the
translations do.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, update

from core.auth.principal import Principal
from core.errors import NotFound
from core.extensions import db
from core.notifications.models import Notification
from core.org.models import Employee
from core.timeutil import utcnow
from core.txcache import transaction_cache

log = logging.getLogger(__name__)


def notify(employee_ids: Iterable[int], kind: str, message: str, params: Mapping[str, Any] | None = None,
           link: str | None = None) -> int:
    """Add a notification for each employee, in the caller's transaction; ``message`` is a
    gettext msgid formatted with ``params``. Returns how many were added."""
    ids = sorted({i for i in employee_ids if i is not None})
    return notify_each(kind, message, [(i, params, link) for i in ids])


def notify_each(kind: str, message: str,
                entries: Iterable[tuple[int, Mapping[str, Any] | None, str | None]]) -> int:
    """One notification per (employee, params, link) entry, each with its own words and
    target (a batch of assignments: one per item), added in the caller's transaction; the
    addresses for the e-mails are read once for all of them. Returns how many were added."""
    entries = [e for e in entries if e[0] is not None]
    if not entries:
        return 0
    locale = current_app.config.get("CONGVU_DEFAULT_LOCALE", "vi")
    with force_locale(locale):
        texts = [gettext(message, **dict(params or {})) for _id, params, _link in entries]
    db.session.add_all(Notification(employee_id=employee_id, kind=kind, message=text, link=link)
                       for (employee_id, _params, link), text in zip(entries, texts, strict=True))
    _mail([(employee_id, text) for (employee_id, _params, _link), text in zip(entries, texts, strict=True)])
    return len(entries)


def page_link(endpoint: str, anchor: str | None = None, **values: Any) -> str:
    """A notification's link to one of the tenant's pages (`t` among `values`): the page's
    path without `/t/<slug>` (see `target`), built from the URL map so a renamed route
    cannot leave a dead link."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    path = path.removeprefix(f"/t/{values['t']}")
    return f"{path}#{anchor}" if anchor else path


def _setting(name: str) -> str | None:
    return current_app.config.get(f"CONGVU_{name}") or os.environ.get(f"CONGVU_{name}") or None


def _mail(messages: list[tuple[int, str]]) -> None:
    """E-mail each (employee, text); the people who share a text share one message (Bcc)."""
    host = _setting("SMTP_HOST")
    if not host:
        return
    emails = _addresses({employee_id for employee_id, _text in messages})
    by_text: dict[str, list[str]] = {}
    for employee_id, text in messages:
        if emails.get(employee_id):
            by_text.setdefault(text, []).append(emails[employee_id])
    for text, addresses in by_text.items():
        _send(host, sorted(set(addresses)), text)


def expect_recipients(employee_ids: Iterable[int]) -> None:
    """Read now, in one query, the addresses of people a loop is about to notify one by one
    (a bulk refusal: item by item through the same service), so it reads none per item;
    nothing when no mail is sent."""
    if _setting("SMTP_HOST"):
        _addresses(set(employee_ids))


def _addresses(ids: set[int]) -> dict[int, str | None]:
    """E-mail addresses by person, read once per transaction (core/txcache.py)."""
    emails = transaction_cache("notification_emails")
    missing = ids - emails.keys()
    if missing:
        emails.update(dict.fromkeys(missing))
        emails.update(db.session.execute(select(Employee.id, Employee.email).where(Employee.id.in_(missing))).all())
    return emails


def _send(host: str, addresses: list[str], text: str) -> None:
    msg = EmailMessage()
    msg["Subject"] = text[:120]
    msg["From"] = _setting("MAIL_FROM") or "congvu@localhost"
    msg["Bcc"] = ", ".join(addresses)
    msg.set_content(text)
    try:
        with smtplib.SMTP(host, int(_setting("SMTP_PORT") or 25), timeout=10) as smtp:
            user = _setting("SMTP_USER")
            if user:
                smtp.starttls()
                smtp.login(user, _setting("SMTP_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException):
        # The in-app notification is the record; a mail server being down must not undo a decision.
        log.warning("could not e-mail %d people", len(addresses), exc_info=True)


def view(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "message": n.message, "link": n.link, "created_at": n.created_at,
            "read": n.read_at is not None}


def inbox(principal: Principal, unread_only: bool = False) -> tuple[list[dict], int]:
    """The caller's notifications, newest first, and how many are unread."""
    if principal.employee_id is None:
        return [], 0
    stmt = select(Notification).where(Notification.employee_id == principal.employee_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = db.session.scalars(stmt.order_by(Notification.id.desc()).limit(200)).all()
    unread = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.employee_id == principal.employee_id, Notification.read_at.is_(None)))
    return [view(n) for n in rows], unread or 0


def _own(principal: Principal):
    return Notification.employee_id == principal.employee_id


def unread_count(principal: Principal) -> int:
    """How many of the caller's notifications are unread: one COUNT on the
    (tenant, employee, read_at) index, for the badge every page shows."""
    if principal.employee_id is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        _own(principal), Notification.read_at.is_(None))) or 0


def page(principal: Principal, number: int, per_page: int) -> tuple[list[dict], int]:
    """One page of the caller's notifications, newest first, and how many they have."""
    if principal.employee_id is None:
        return [], 0
    total = db.session.scalar(select(func.count()).select_from(Notification).where(_own(principal))) or 0
    rows = db.session.scalars(select(Notification).where(_own(principal)).order_by(Notification.id.desc())
                              .limit(per_page).offset((number - 1) * per_page)).all()
    return [view(n) for n in rows], total


def mark_read(principal: Principal, notification_id: int) -> Notification:
    n = db.session.get(Notification, notification_id)
    if n is None or n.employee_id != principal.employee_id or principal.employee_id is None:
        raise NotFound("Notification not found.")  # another person's: as if missing
    n.read_at = n.read_at or utcnow()
    return n


def mark_all_read(principal: Principal) -> int:
    """Mark every unread notification of the caller read (one UPDATE, which the tenancy
    listener scopes to the tenant); returns how many were unread."""
    if principal.employee_id is None:
        return 0
    result = db.session.execute(update(Notification).where(_own(principal), Notification.read_at.is_(None))
                                .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


# What the yearly decisions store (core/classification/services.py): the API-style path of
# the year, whose page is the classification page.
_CLASSIFICATION_YEAR = re.compile(r"/classifications/(\d{4})")


def target(link: str | None, slug: str, root: str = "") -> str | None:
    """Where a notification's link leads for a reader of tenant `slug`, the app being
    served under `root` (the request's script root); None when there is nowhere to go.

    A link is a path under the tenant's pages (`/today#item-12`, with no `/t/<slug>`: the
    API and e-mails do not depend on where the pages are served). Reminders sent before
    this stored the whole path (`/t/<slug>/today`), and the yearly decisions store the
    year's API-style path (`/classifications/2026`): both still lead to their page.
    Anything else — an absolute address, another tenant's path — is not followed."""
    if not link or not link.startswith("/") or "//" in link or "\\" in link:
        return None
    if root and link.startswith(f"{root}/t/"):
        link = link[len(root):]
    if link.startswith(f"/t/{slug}/"):
        path = link
    elif link.startswith("/t/"):
        return None
    else:
        year = _CLASSIFICATION_YEAR.fullmatch(link)
        path = f"/t/{slug}" + (f"/classification?year={year.group(1)}" if year else link)
    return root + path
