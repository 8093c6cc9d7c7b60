"""`congvu user create`."""

from __future__ import annotations

import sys
import unicodedata

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core.cli.base import fail, main, tenant_or_fail, transactional
from core.extensions import db


@main.group()
def user() -> None:
    """Create logins."""


@user.command("create")
@click.option("--tenant", "tenant_slug", help="The tenant of the user.")
@click.option("--operator", is_flag=True, help="A platform operator (no tenant).")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(["employee", "manager", "tenant_admin", "auditor"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
@transactional
def user_create(tenant_slug: str | None, operator: bool, username: str, roles: tuple[str, ...],
                password_stdin: bool) -> None:
    """Create a tenant user or a platform operator."""
    from core.audit.services import record
    from core.auth.models import Operator, User
    from core.auth.services import PasswordRejected, create_operator, create_user
    from core.tenancy import tenant_context

    if operator == bool(tenant_slug):
        raise click.UsageError("give exactly one of --tenant and --operator")
    if not password_stdin:
        raise click.UsageError("--password-stdin is required (passwords never go on the command line)")
    password = sys.stdin.readline().rstrip("\r\n")
    username = unicodedata.normalize("NFC", username)  # logins are stored NFC
    try:
        if operator:
            if db.session.scalar(select(Operator.id).where(Operator.username == username)):
                fail(f"operator '{username}' exists")
            create_operator(username, password)
            click.echo(f"created operator {username}")
            return
        tenant_row = tenant_or_fail(tenant_slug)
        with tenant_context(tenant_row.id):
            if db.session.scalar(select(User.id).where(User.username == username)):
                fail(f"user '{username}' exists in {tenant_slug}")
            new = create_user(username, password, list(roles) or ["employee"])
            record("user.create", "user", new.id, after={"username": username, "roles": new.roles}, actor="cli")
            click.echo(f"created user {username} in {tenant_slug} with roles {','.join(new.roles)}")
    except PasswordRejected as exc:
        fail(" ".join(exc.problems))
