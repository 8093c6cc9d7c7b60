"""The person behind an audit actor, for people to read: `user:28:admin` is shown as
"Nguyễn Văn A (admin)". The stored actor is what the hash covers and never changes; the
name is looked up when the log is shown (a renamed person shows their current name)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from core.auth.models import User
from core.extensions import db
from core.org.models import Employee

_ACTOR = re.compile(r"^(?:user:(?P<uid>\d{1,18}):(?P<login>.*?)|operator:(?P<op>.*?)|(?P<other>.*?))"
                    r"(?: via job (?P<job>[0-9a-f-]{1,36}))?$")


@dataclass(frozen=True)
class Who:
    """`name` is a person's full name, else the login or the raw actor; `login` what they
    sign in with (None for a system actor); `kind` user | operator | system; `job` the job
    that acted for them; `known` a login of this tenant today (one the log can be
    filtered by)."""

    name: str
    login: str | None
    kind: str
    job: str | None = None
    known: bool = False


def _parse(actor: str) -> tuple[int | None, Who]:
    m = _ACTOR.match(actor or "")
    if m is None:  # unreachable: the last alternative takes anything
        return None, Who(actor, None, "system")
    job = m["job"]
    if m["uid"] is not None:
        return int(m["uid"]), Who(m["login"], m["login"], "user", job)
    if m["op"] is not None:
        return None, Who(m["op"], m["op"], "operator", job)
    return None, Who(m["other"], None, "system", job)


def resolve(actors: Iterable[str]) -> dict[str, Who]:
    """Each distinct actor's person, with one query for all the logins among them (in the
    caller's tenant: a login of another tenant keeps the name the actor carries)."""
    parsed = {a: _parse(a) for a in set(actors)}
    ids = {uid for uid, _ in parsed.values() if uid is not None}
    names: dict[int, tuple[str, str | None]] = {}
    if ids:
        rows = db.session.execute(select(User.id, User.username, Employee.full_name)
                                  .outerjoin(Employee, Employee.user_id == User.id).where(User.id.in_(ids)))
        names = {r.id: (r.username, r.full_name) for r in rows}
    out: dict[str, Who] = {}
    for actor, (uid, who) in parsed.items():
        if uid in names:
            login, full_name = names[uid]
            who = Who(full_name or login, login, "user", who.job, known=True)
        out[actor] = who
    return out


def label(who: Who) -> str:
    """One line, in Vietnamese, for the export: "Nguyễn Văn A (admin), qua tác vụ 3f2a…"."""
    text = f"{who.name} ({who.login})" if who.login and who.login != who.name else who.name
    if who.kind == "operator":
        text = f"Quản trị nền tảng {text}"
    return f"{text}, qua tác vụ {who.job}" if who.job else text
