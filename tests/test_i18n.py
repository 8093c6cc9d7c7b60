"""Vietnamese everywhere: the compiled catalogues travel with the package, the app will not
start without them, and what pages, reports and errors show is translated and formatted
the Vietnamese way."""

from __future__ import annotations

import importlib.util

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

from core import PROJECT_ROOT, create_app
from core.i18n import MissingCatalogue

VI_PO = PROJECT_ROOT / "core" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def _setup_module():
    spec = importlib.util.spec_from_file_location("congvu_setup", PROJECT_ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: setup() does not run
    return module


def test_the_package_build_compiles_every_catalogue(tmp_path):
    written = _setup_module().compile_catalogues(PROJECT_ROOT, tmp_path)
    relative = sorted(str(p.relative_to(tmp_path)) for p in written)
    assert relative == ["core/plugins/translations/vi/LC_MESSAGES/plugins.mo",
                        "core/translations/en/LC_MESSAGES/messages.mo",
                        "core/translations/vi/LC_MESSAGES/messages.mo"]
    with VI_PO.open("rb") as handle:
        catalog = read_po(handle)
    compiled = Translations.load(str(tmp_path / "core" / "translations"), ["vi"])
    # Every translated entry of the .po is in the .mo, word for word.
    entries = [m for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.id, str)]
    assert len(entries) > 400
    assert [compiled.gettext(m.id) for m in entries] == [m.string for m in entries]
    assert compiled.gettext("Log out") == "Đăng xuất"


def test_the_app_refuses_to_start_without_the_vietnamese_catalogue(tmp_path, monkeypatch):
    monkeypatch.setattr("core.i18n.VI_CATALOGUE", tmp_path / "missing" / "messages.mo")
    with pytest.raises(MissingCatalogue, match=r"Vietnamese message catalogue is missing .*make translations"):
        create_app({"CONGVU_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CONGVU_INSTANCE_PATH": str(tmp_path)})


def test_the_favicon_is_served(client):
    for path in ("/favicon.ico", "/static/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", path
        assert response.get_data(as_text=True).lstrip().startswith("<svg")
