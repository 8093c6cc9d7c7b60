"""deploy/compose.yaml runs the real commands: no container engine runs here, so the
file is parsed and each service's command is checked against the systemd units and the
`congvu` command group (the options must parse; the queues must be real workloads)."""

from __future__ import annotations

import shlex

import yaml

from core import PROJECT_ROOT
from core.cli import main
from core.jobs.runner import QUEUE_FOR
from tests.app.test_deploy import unit_file

DEPLOY = PROJECT_ROOT / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def exec_start(unit: str) -> list[str]:
    """The unit's command without the venv's path: what the container runs from PATH."""
    words = shlex.split(unit_file(unit)["Service"]["ExecStart"])
    return [words[0].rsplit("/", 1)[-1], *words[1:]]


def test_the_services_are_there():
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "scheduler", "migrate"} <= set(services)
    for name in ("web", "worker", "scheduler", "migrate"):
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (PROJECT_ROOT / "deploy" / "Dockerfile").is_file()
        assert {"postgres", "redis"} <= set(service["depends_on"])
        env = service["environment"]
        assert env["CONGVU_DATABASE_URL"].startswith("postgresql+psycopg://congvu_app:")  # RLS applies
        assert env["CONGVU_REDIS_URL"] == "redis://redis:6379/0"
        assert "instance:/opt/congvu/instance" in service["volumes"]  # uploads shared with workers
    assert services["migrate"]["environment"]["CONGVU_DATABASE_OWNER_URL"].startswith(
        "postgresql+psycopg://congvu_owner:")
    init = (DEPLOY / "compose" / "initdb.sql").read_text()
    assert "CREATE ROLE congvu_app LOGIN NOSUPERUSER NOBYPASSRLS" in init


def test_redis_keeps_an_append_only_file_fsynced_every_second():
    command = compose()["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options == {"--appendonly": "yes", "--appendfsync": "everysec"}
    assert any(v.endswith(":/data") for v in compose()["services"]["redis"]["volumes"])


def test_web_and_scheduler_run_what_the_systemd_units_run():
    services = compose()["services"]
    assert services["web"]["command"] == exec_start("congvu-web.service")
    assert services["scheduler"]["command"] == exec_start("congvu-scheduler.service")
    assert services["scheduler"]["environment"]["TZ"] == "Asia/Ho_Chi_Minh"
    worker_unit = exec_start("congvu-worker@.service")
    assert services["worker"]["command"][:3] == worker_unit[:3] == ["congvu", "worker", "--queues"]


def test_the_commands_parse_and_the_queues_are_real(app):
    # `app`: the application has imported every module that registers a job kind.
    services = compose()["services"]
    workloads = set(QUEUE_FOR.values()) | {"default"}
    # `db upgrade` is Flask-Migrate's, the command docs/operations.md §4 runs.
    assert services["migrate"]["command"] == ["congvu", "db", "upgrade"]
    for name in ("worker", "scheduler"):
        program, *args = services[name]["command"]
        assert program == "congvu"
        group, command = main, None
        while args and args[0] in getattr(group, "commands", {}):
            command = group.commands[args.pop(0)]
            group = command
        assert command is not None, services[name]["command"]
        ctx = command.make_context(command.name, list(args))  # raises on an unknown option
        if name == "worker":
            queues = ctx.params["queues"].split(",")
            assert set(queues) == workloads, (queues, workloads)


def test_the_scaling_plan_names_every_table(app):
    """docs/scaling.md's Citus plan: every tenant table distributed, every other table a
    reference table; a new table fails here until the plan says where it goes."""
    import re

    from core.extensions import db
    from core.tenancy.mixin import tenant_tables

    text = (PROJECT_ROOT / "docs" / "scaling.md").read_text()
    distributed = text.split("**Distributed by `tenant_id`**", 1)[1].split("**Reference tables**", 1)[0]
    reference = text.split("**Reference tables**", 1)[1].split("They have", 1)[0]
    listed = set(re.findall(r"`([a-z_]+)`", distributed.split("co-located:", 1)[1]))
    assert listed == set(tenant_tables(db.metadata))
    others = {t.name for t in db.metadata.sorted_tables} - set(tenant_tables(db.metadata))
    assert set(re.findall(r"`([a-z_]+)`", reference)) == others
