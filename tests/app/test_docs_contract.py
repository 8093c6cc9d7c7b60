"""docs/api.md is the contract a clone carries: every path it names is served and
described in the OpenAPI document, and every command it lists exists in `congvu`."""

from __future__ import annotations

import re

from core import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
# `…/x/{id}` and `/api/v1/…` paths inside backticks; `{t}` is the tenant slug.
# Named in the text but not operations: the document itself and the tenant base path.
NOT_OPERATIONS = {"/api/v1/openapi.json", "/api/v1/tenants/{}"}
PATH = re.compile(r"`(?:GET\|POST |GET\|PATCH |GET |POST |PUT |PATCH |DELETE )?((?:…|/api/v1)[^` ?]*)")


def _shape(path: str) -> str:
    """A path with every {placeholder} written the same way, as the document's are."""
    return re.sub(r"\{[^}]+\}", "{}", path.replace("…", "/api/v1/tenants/{t}")).rstrip("/")


def documented_paths() -> set[str]:
    paths = set()
    for raw in PATH.findall(DOC):
        for one in re.sub(r"\{([a-z]+)\|[a-z|]+\}", r"{\1}", raw).split("|"):
            paths.add(_shape(one))
    return paths


def test_every_documented_path_is_in_the_openapi_document(clean_app, client):
    served = {_shape(p) for p in client.get("/api/v1/openapi.json").get_json()["paths"]}
    documented = documented_paths()
    assert len(documented) >= 30, sorted(documented)  # the parser found the contract
    missing = sorted(p for p in documented - NOT_OPERATIONS if p not in served and p + "/{}" not in served)
    assert not missing, f"docs/api.md names paths the app does not serve: {missing}"


def test_every_documented_command_exists():
    from click.testing import CliRunner

    from core.cli import main

    block = DOC.split("## Command line", 1)[1]
    commands = {tuple(line.split()[1:3]) for line in block.splitlines() if line.startswith("congvu ")}
    runner = CliRunner()
    for words in sorted(commands):
        words = tuple(w for w in words if not w.startswith("-"))
        result = runner.invoke(main, [*words, "--help"])
        assert result.exit_code == 0, (words, result.output)
