"""Build hook: the compiled message catalogues (.mo) go into every wheel.

A plain `pip install .` (what deploy/'s systemd units run) would otherwise ship only the
.po sources, and Flask-Babel, which reads .mo files, would serve every page in English.
The project's metadata is in pyproject.toml; this file only adds the compile step.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUE_ROOTS = ("core",)


def compile_catalogues(source: Path, target: Path) -> list[Path]:
    """Compile every .po under `source`'s catalogue roots into the same relative place
    under `target`; returns the .mo files written. A catalogue that does not parse stops
    the build: a wheel without its Vietnamese would start and show English."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written: list[Path] = []
    for root in CATALOGUE_ROOTS:
        for po in sorted((source / root).rglob("*.po")):
            if "LC_MESSAGES" not in po.parts:
                continue
            with po.open("rb") as handle:
                catalog = read_po(handle, abort_invalid=True)
            mo = target / po.relative_to(source).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)
            written.append(mo)
    return written


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        # Into the wheel, and into the source tree as well: an editable install imports
        # from it, and so does a service started in the checkout (deploy/'s units run
        # `gunicorn wsgi:app` from /opt/congvu, whose core/ comes first on sys.path).
        targets = [here] if getattr(self, "editable_mode", False) else [Path(self.build_lib), here]
        for target in targets:
            try:
                written = compile_catalogues(here, target)
            except PermissionError:
                if target == here and len(targets) > 1:
                    continue  # a read-only checkout: the wheel still carries them
                raise
            for mo in written:
                self.announce(f"compiled {mo}", level=2)


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildWithCatalogues})
