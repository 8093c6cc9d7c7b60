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
import smtplib
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from core.auth.principal import Principal
from core.errors import NotFound
from core.extensions import db
from core.notifications.models import Notification
from core.org.models import Employee
from core.timeutil import utcnow

log = logging.getLogger(__name__)


def notify(employee_ids: Iterable[int], kind: str, message: str, params: Mapping[str, Any] | None = None,
           link: str | None = None) -> int:
    """Add a notification for each employee, in the caller's transaction; ``message`` is a
    gettext msgid formatted with ``params``. Returns how many were added."""
    ids = sorted({i for i in employee_ids if i is not None})
    if not ids:
        return 0
    locale = current_app.config.get("CONGVU_DEFAULT_LOCALE", "vi")
    with force_locale(locale):
        text = gettext(message, **dict(params or {}))
    db.session.add_all(Notification(employee_id=i, kind=kind, message=text, link=link) for i in ids)
    _mail(ids, text)
    return len(ids)


def _setting(name: str) -> str | None:
    return current_app.config.get(f"CONGVU_{name}") or os.environ.get(f"CONGVU_{name}") or None


def _mail(employee_ids: list[int], text: str) -> None:
    host = _setting("SMTP_HOST")
    if not host:
        return
    addresses = [a for a in db.session.scalars(select(Employee.email).where(Employee.id.in_(employee_ids))) if a]
    if not addresses:
        return
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


def mark_read(principal: Principal, notification_id: int) -> Notification:
    n = db.session.get(Notification, notification_id)
    if n is None or n.employee_id != principal.employee_id:
        raise NotFound("Notification not found.")  # another person's: as if missing
    n.read_at = n.read_at or utcnow()
    return n
