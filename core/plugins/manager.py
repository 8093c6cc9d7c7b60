"""Loading plugins and finding their components (architecture.md, "Plugins").

Order: built-in plugins (the modules of the ``plugins`` package), then installed
distributions that declare an entry point in the group ``congvu`` — only those the
operator's allow-list ``CONGVU_PLUGINS`` names, when it is set — then tenant-local
plugin modules ``<tenants dir>/<slug>/plugin.py``, whose components only that tenant
may select; then ``check_pending()``. Installed is not enabled: a plugin left out of
the allow-list is not even imported.

At start-up (``strict``) any problem stops the application with one message naming
every plugin at fault: a plugin that cannot be imported, a hookimpl for a hook that
does not exist, a malformed component, two components with the same kind and key.
``congvu plugins list`` loads leniently so it can show what failed and why.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import logging
import os
import pkgutil
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pluggy
from marshmallow import ValidationError

from core.errors import Conflict, Invalid
from core.plugins import hookspecs
from core.plugins.components import HOOK_FOR_KIND, KINDS, TASK_SCORE_MAX, Component, check_component

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "congvu"
BUILTIN_PACKAGE = "plugins"
TENANT_PLUGIN_FILE = "plugin.py"
TENANT_PLUGIN_PREFIX = "tenant:"
KIND_LABEL = {
    "scoring_variant": "scoring variant",
    "classification_scheme": "classification scheme",
    "bonus_scheme": "bonus scheme",
    "import_connector": "import connector",
    "live_connector": "live connector",
}


class PluginLoadError(RuntimeError):
    """Start-up stops: the configured plugins cannot all be loaded."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("congvu cannot start; fix or remove these plugins (or leave them out of "
                         "CONGVU_PLUGINS):\n" + "\n".join(f"  - {p}" for p in self.problems))


class ComponentMissing(Conflict):
    """A tenant's chosen component cannot be used (not installed, not allowed, bad settings).

    Never answered with a default component: the tenant's results would silently change.
    """

    def __init__(self, message: str, errors: dict | None = None, code: str = "component_missing"):
        super().__init__(message, errors, code)


class TaskScoreOutOfBounds(ComponentMissing):
    """A scoring variant returned a task score outside 0 to its task_score_max (or no number at all): a bug
    of the plugin. The run is refused rather than clamped, so the vendor hears of it
    and no tenant is shown a number the rule did not produce. A ComponentMissing, so
    every path that already copes with an unusable component (a refresh marks the
    month stale, pages show the reason, the API answers 409) copes with this one too."""

    def __init__(self, stamp: dict, value: Any, period: str, ceiling: float = TASK_SCORE_MAX):
        self.stamp, self.value, self.period = dict(stamp), value, period
        message = (f"The scoring variant '{stamp.get('key')}' version {stamp.get('version')} returned a task score "
                   f"of {value!r} for {period}, outside 0–{ceiling:g}: a fault of that plugin; nothing was "
                   f"scored. Ask its vendor for a fix, or choose another scoring variant.")
        super().__init__(message, {"task_score": [f"{value!r} is not a number from 0 to {ceiling:g}."]},
                         code="task_score_out_of_bounds")


@dataclass
class PluginRecord:
    """One plugin as ``GET /api/v1/plugins`` describes it."""

    name: str
    origin: str  # "builtin" | "installed" | "tenant"
    version: str | None = None
    source: str = ""  # the module, entry point or file it comes from
    tenant: str | None = None  # the owner of a tenant-local plugin
    enabled: bool = True
    loaded: bool = False
    error: str | None = None
    components: list[Component] = field(default_factory=list)


@dataclass(frozen=True)
class Registered:
    """A loaded component and who provided it."""

    component: Component
    plugin: str
    tenants: frozenset[str] | None  # None: any tenant may select it

    def allows(self, tenant_slug: str | None) -> bool:
        return self.tenants is None or tenant_slug in self.tenants


@dataclass(frozen=True)
class ChosenComponent:
    """The component a tenant uses for one kind on one day, with its settings."""

    component: Component
    settings: dict[str, Any]  # loaded: what the component's methods receive
    stored: dict[str, Any]  # JSON: what the settings hash is taken of
    settings_hash: str
    effective_from: date | None

    def stamp(self) -> dict[str, str]:
        """What a result records about how it was computed."""
        return {"key": self.component.key, "version": self.component.version, "settings_hash": self.settings_hash}


class _PluggyManager(pluggy.PluginManager):
    """pluggy, stricter: a function named ``congvu_*`` is a hookimpl even without the
    marker (so a misspelled, unmarked one reaches ``check_pending()`` instead of being
    ignored), and a hookimpl may not have default-valued parameters (pluggy would
    silently never pass them)."""

    def parse_hookimpl_opts(self, plugin: object, name: str):
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(hookspecs.PROJECT + "_"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                opts = {}
        if opts is not None:
            method = getattr(plugin, name)
            defaulted = [p.name for p in inspect.signature(method).parameters.values()
                         if p.default is not inspect.Parameter.empty]
            if defaulted:
                raise pluggy.PluginValidationError(
                    plugin, f"hookimpl {name} has default-valued parameters {defaulted}; pluggy never passes them")
        return opts


def entry_points_of_group(group: str = ENTRY_POINT_GROUP) -> list[importlib.metadata.EntryPoint]:
    """The installed entry points of ``group``, each once (a path listed twice lists them twice)."""
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=group):
        seen.setdefault(ep.name, ep)
    return sorted(seen.values(), key=lambda ep: ep.name)


def _describe_exception(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _congvu_version() -> str | None:
    try:
        return importlib.metadata.version("congvu")
    except importlib.metadata.PackageNotFoundError:
        return None


def parse_allow_list(value: str | Iterable[str] | None) -> list[str] | None:
    """``CONGVU_PLUGINS``: None (unset) means every installed plugin; a comma-separated
    string or a list names the plugins (entry-point names) that may load; ``none`` loads
    no installed plugin (an empty environment variable counts as unset)."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [name.strip() for name in items if name and name.strip()]
    return [] if [n.lower() for n in names] == ["none"] else names


class PluginManager:
    """The plugins of one application: pluggy's manager (``pm``) and the components by kind and key."""

    def __init__(self, allow_list: Iterable[str] | str | None = None, tenants_dir: str | Path | None = None,
                 builtin_package: str | None = BUILTIN_PACKAGE):
        self.allow_list = parse_allow_list(allow_list)
        self.tenants_dir = Path(tenants_dir) if tenants_dir else None
        self.builtin_package = builtin_package
        self.pm = _PluggyManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginRecord] = {}
        self.components: dict[tuple[str, str], Registered] = {}  # the newest version of each
        # Older versions a plugin keeps installed beside the newest, by (kind, key, version):
        # a tenant that adopted one keeps scoring with it (docs/writing-a-plugin.md).
        self.older: dict[tuple[str, str, str], Registered] = {}
        self.problems: list[str] = []
        self._commands_registered: set[int] = set()
        self._chosen: dict[tuple, ChosenComponent] = {}  # choose(): settings loaded once per stored value

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PluginManager:
        from core import PROJECT_ROOT

        tenants_dir = (config.get("CONGVU_TENANTS_DIR") or os.environ.get("CONGVU_TENANTS_DIR")
                       or PROJECT_ROOT / "tenants")
        return cls(config.get("CONGVU_PLUGINS"), tenants_dir, config.get("CONGVU_BUILTIN_PLUGINS", BUILTIN_PACKAGE))

    # ------------------------------------------------------------ loading

    def load(self, strict: bool = True) -> PluginManager:
        """Load every plugin; with ``strict``, raise PluginLoadError naming every plugin at fault."""
        self._load_builtins()
        self._load_installed()
        self._load_tenant_local()
        self._check_pending()
        for record in list(self.plugins.values()):
            if record.loaded:
                self._collect_components(record)
        if strict and self.problems:
            raise PluginLoadError(self.problems)
        return self

    def _fail(self, record: PluginRecord, message: str) -> None:
        record.loaded, record.error = False, message
        record.components = []
        self.problems.append(f"plugin '{record.name}' ({record.source}): {message}")
        plugin = self.pm.get_plugin(record.name)
        if plugin is not None:
            self.pm.unregister(plugin)

    def _register(self, record: PluginRecord, load: Any) -> None:
        """Import (``load()``) and register one plugin, recording any failure against it."""
        self.plugins[record.name] = record
        try:
            plugin = load()
        except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything on import, even SystemExit
            if isinstance(exc, KeyboardInterrupt):
                raise
            self._fail(record, f"failed to import: {_describe_exception(exc)}")
            return
        if self.pm.get_plugin(record.name) is not None or self.pm.is_registered(plugin):
            self._fail(record, "another plugin is already registered under this name or object")
            return
        try:
            self.pm.register(plugin, name=record.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self._fail(record, f"invalid hookimpl: {exc}")
            return
        record.loaded = True

    def _load_builtins(self) -> None:
        if not self.builtin_package:
            return
        package = importlib.import_module(self.builtin_package)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = f"{self.builtin_package}.{info.name}"
            # Built-ins are part of the core (the tenants' defaults rely on them), so the
            # allow-list, which is about third-party code, does not apply to them.
            self._register(PluginRecord(info.name, "builtin", _congvu_version(), module),
                           lambda module=module: importlib.import_module(module))

    def _load_installed(self) -> None:
        installed = entry_points_of_group()
        names = {ep.name for ep in installed}
        for ep in installed:
            dist = getattr(ep, "dist", None)
            record = PluginRecord(ep.name, "installed", dist.version if dist else None, f"entry point {ep.value}")
            if self.allow_list is not None and ep.name not in self.allow_list:
                record.enabled = False
                record.error = "not enabled: not in the operator's allow-list CONGVU_PLUGINS"
                self.plugins[ep.name] = record
                continue
            if ep.name in self.plugins:
                self.problems.append(f"plugin '{ep.name}' ({record.source}): its name is taken by a built-in plugin")
                continue
            self._register(record, ep.load)
        for name in self.allow_list or ():
            if name not in names:
                self.problems.append(f"plugin '{name}' is listed in CONGVU_PLUGINS but not installed "
                                     f"(no entry point '{name}' in the group '{ENTRY_POINT_GROUP}')")

    def _load_tenant_local(self) -> None:
        if self.tenants_dir is None or not self.tenants_dir.is_dir():
            return
        for folder in sorted(p for p in self.tenants_dir.iterdir() if p.is_dir()):
            path = folder / TENANT_PLUGIN_FILE
            if not path.is_file():
                continue
            slug = folder.name
            record = PluginRecord(TENANT_PLUGIN_PREFIX + slug, "tenant", None, str(path), tenant=slug)
            self._register(record, lambda path=path, slug=slug: _import_file(path, slug))

    def _check_pending(self) -> None:
        # check_pending() names one plugin at a time: drop it and look again, so every
        # misspelled hookimpl is reported, not just the first.
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin)
                record = self.plugins.get(name) if name else None
                if record is None:  # not one of ours: nothing sensible to drop
                    self.problems.append(str(exc))
                    return
                self._fail(record, f"{exc} (misspelled hook name? see docs/plugins.md)")

    def _collect_components(self, record: PluginRecord) -> None:
        found: list[Component] = []
        for kind in KINDS:
            hook_name = HOOK_FOR_KIND[kind]
            impls = [i for i in getattr(self.pm.hook, hook_name).get_hookimpls() if i.plugin_name == record.name]
            if not impls:
                continue
            try:
                result = impls[0].function()
            except Exception as exc:  # noqa: BLE001 - any failure of a plugin's code is reported against it
                self._fail(record, f"{hook_name}() raised {_describe_exception(exc)}")
                return
            if result is None:
                result = []
            if not isinstance(result, list | tuple):
                # A component, a class or a generator instead of a list: said plainly here,
                # where iterating it would raise a TypeError naming no plugin.
                self._fail(record, f"{hook_name}() returned {_describe(result)}, not a list of components "
                                   f"(return [{_instance_hint(result)}])")
                return
            for component in result:
                try:
                    problem = check_component(component, kind)
                except Exception as exc:  # noqa: BLE001 - the component's own code (its schema) failed
                    problem = f"checking it raised {_describe_exception(exc)}"
                if problem:
                    self._fail(record, f"{hook_name}() returned {_describe(component)}: {problem}")
                    return
                found.append(component)
        tenants = frozenset({record.tenant}) if record.tenant else None
        # One plugin may register several versions of a component (the same kind and key):
        # the newest is what a tenant gets unless it adopted another one.
        by_key: dict[tuple[str, str], list[Component]] = {}
        for component in found:
            by_key.setdefault((component.kind, component.key), []).append(component)
        for (kind, key), versions in by_key.items():
            existing = self.components.get((kind, key))
            problem = (f"{KIND_LABEL[kind]} '{key}' is also provided by plugin '{existing.plugin}'; keys must be "
                       f"unique per kind") if existing is not None else None
            numbers = [c.version for c in versions]
            if problem is None and len(set(numbers)) < len(numbers):
                problem = f"{KIND_LABEL[kind]} '{key}' is registered twice with version {_twice(numbers)}"
            if problem is not None:
                self._fail(record, problem)
                for k in [k for k, reg in self.components.items() if reg.plugin == record.name]:
                    del self.components[k]
                for k in [k for k, reg in self.older.items() if reg.plugin == record.name]:
                    del self.older[k]
                return
            versions.sort(key=lambda c: version_order(c.version), reverse=True)
            for n, component in enumerate(versions):
                allowed = tenants if tenants is not None else component.allowed_tenants
                registered = Registered(component, record.name, allowed)
                if n == 0:
                    self.components[(kind, key)] = registered
                else:
                    self.older[(kind, key, component.version)] = registered
        record.components = found

    # ------------------------------------------------------------ app integration

    def register_blueprints(self, app) -> None:
        self._call_each("congvu_register_blueprints", app=app)

    def register_commands(self, cli) -> None:
        if id(cli) in self._commands_registered:
            return
        self._commands_registered.add(id(cli))
        self._call_each("congvu_register_commands", cli=cli)

    def _call_each(self, hook_name: str, **kwargs: Any) -> None:
        # One implementation at a time, so a failure names its plugin.
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(*[kwargs[name] for name in impl.argnames])
            except Exception as exc:
                raise PluginLoadError([f"plugin '{impl.plugin_name}' failed in {hook_name}: "
                                       f"{_describe_exception(exc)}"]) from exc

    # ------------------------------------------------------------ components

    def registered(self, kind: str, key: str, tenant_slug: str | None,
                   version: str | None = None) -> Registered | None:
        """The component of ``kind`` and ``key`` if it is loaded and this tenant may select
        it: the newest version, or exactly ``version`` when one is given."""
        found = self.components.get((kind, key))
        if found is not None and version is not None and found.component.version != version:
            found = self.older.get((kind, key, version))
        return found if found is not None and found.allows(tenant_slug) else None

    def versions(self, kind: str, key: str, tenant_slug: str | None) -> list[str]:
        """The installed versions of a component this tenant may select, newest first."""
        newest = self.registered(kind, key, tenant_slug)
        if newest is None:
            return []
        older = [v for (k, c, v), reg in self.older.items() if (k, c) == (kind, key) and reg.allows(tenant_slug)]
        return [newest.component.version, *sorted(older, key=version_order, reverse=True)]

    def available(self, kind: str, tenant_slug: str | None) -> list[Registered]:
        """The components of ``kind`` this tenant may select, by key."""
        return sorted((reg for (k, _), reg in self.components.items() if k == kind and reg.allows(tenant_slug)),
                      key=lambda reg: reg.component.key)

    def component(self, kind: str, key: str, tenant_slug: str | None, version: str | None = None) -> Component:
        """The component, or ComponentMissing with a message saying what to do. With
        ``version``: that version while it is installed, else the newest (the tenant's
        admin pages warn that the adopted version is gone, component_warnings)."""
        found = (version is not None and self.registered(kind, key, tenant_slug, version)) or \
            self.registered(kind, key, tenant_slug)
        if found is None:
            raise ComponentMissing(
                f"The {KIND_LABEL[kind]} '{key}' chosen by tenant '{tenant_slug}' is not installed or not "
                f"enabled on this server (see `congvu plugins list`); install and enable it, or choose "
                f"another one in the tenant's settings.",
                {_field(kind): {"key": [f"'{key}' is not available."]}})
        return found.component

    def validate_component(self, kind: str, key: str, settings: dict | None, version: str | None = None) -> dict:
        """The stored (JSON) form of ``settings`` for the component (``version`` of it when
        given), defaults filled in, or Invalid (422) with field errors. Knows the current
        tenant: a component of another tenant is answered exactly like one that does not exist."""
        if kind not in KIND_LABEL:
            raise Invalid(f"Unknown component kind '{kind}'.", {"kind": [f"Not one of {', '.join(KINDS)}."]})
        slug = current_tenant_slug()
        found = self.registered(kind, key, slug)
        field_name = _field(kind)
        if found is None:
            message = f"No {KIND_LABEL[kind]} '{key}' is available to this tenant."
            errors: dict = {field_name: [message]} if kind == "import_connector" else {field_name: {"key": [message]}}
            raise Invalid(message, errors)
        if version is not None:
            found = self.registered(kind, key, slug, version)
            if found is None:
                installed = ", ".join(self.versions(kind, key, slug))
                message = f"Version {version} of {KIND_LABEL[kind]} '{key}' is not installed (installed: {installed})."
                raise Invalid(message, {field_name: {"version": [message]}})
        try:
            return found.component.normalise_settings(settings or {})
        except ValidationError as exc:
            raise Invalid(f"The settings of {KIND_LABEL[kind]} '{key}' are invalid.",
                          {field_name: {"settings": exc.messages}}) from exc
        except Exception as exc:  # a plugin's own validator failing is still not the caller's 500
            log.exception("settings validation of %s '%s' failed", kind, key)
            raise Invalid(f"The settings of {KIND_LABEL[kind]} '{key}' could not be checked.",
                          {field_name: {"settings": ["The component could not check these settings."]}}) from exc

    def choose(self, kind: str, key: str, stored: dict | None, tenant_slug: str | None,
               effective_from: date | None = None, version: str | None = None) -> ChosenComponent:
        """The component (the adopted ``version`` while it is installed, else the newest)
        with its settings loaded, for computing; ComponentMissing when the component is
        gone or its stored settings no longer fit its schema."""
        component = self.component(kind, key, tenant_slug, version)  # installed and enabled: asked every time
        # Loading settings through the component's schema and hashing them cost about a
        # millisecond, on every write that re-scores an item: done once per stored value.
        memo_key = (id(component), json.dumps(stored or {}, sort_keys=True, default=str), effective_from)
        chosen = self._chosen.get(memo_key)
        if chosen is not None and chosen.component is component:
            return chosen
        try:
            normalised = component.normalise_settings(stored or {})
            loaded = component.load_settings(normalised)
        except ValidationError as exc:
            raise ComponentMissing(
                f"The stored settings of {KIND_LABEL[kind]} '{key}' (version {component.version}) are no longer "
                f"valid; correct them in the tenant's settings.", {_field(kind): {"settings": exc.messages}},
                code="component_settings_invalid") from exc
        chosen = ChosenComponent(component, loaded, normalised, component.settings_hash(normalised), effective_from)
        if len(self._chosen) >= 512:
            self._chosen.clear()
        self._chosen[memo_key] = chosen
        return chosen

    # ------------------------------------------------------------ listing

    def list_plugins(self, locale: str = "vi", tenant_slug: str | None = None,
                     everything: bool = True) -> list[dict[str, Any]]:
        """The contract's ``GET /api/v1/plugins`` list. Without ``everything`` (a tenant's
        caller) other tenants' tenant-local plugins are left out."""
        out = []
        for record in sorted(self.plugins.values(), key=lambda r: (_ORIGIN_ORDER[r.origin], r.name)):
            if not everything and record.tenant is not None and record.tenant != tenant_slug:
                continue
            out.append({
                "name": record.name, "version": record.version, "loaded": record.loaded, "error": record.error,
                "enabled": record.enabled, "origin": record.origin, "tenant": record.tenant,
                "components": [describe_component(c, locale) for c in record.components],
            })
        return out


_ORIGIN_ORDER = {"builtin": 0, "installed": 1, "tenant": 2}


def describe_component(component: Component, locale: str = "vi") -> dict[str, Any]:
    return {"kind": component.kind, "key": component.key, "version": component.version,
            "title": component.title(locale), "title_vi": component.title_vi, "title_en": component.title_en}


def version_order(version: str) -> tuple:
    """A sort key for version strings: numeric parts as numbers (1.10.0 after 1.9.0), any
    other part as text after the numbers of its position."""
    parts = []
    for part in version.replace("-", ".").replace("+", ".").split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)


def _twice(numbers: list[str]) -> str:
    return next(n for n in numbers if numbers.count(n) > 1)


def _field(kind: str) -> str:
    # The settings document names the connectors' list in the plural.
    return "import_connectors" if kind == "import_connector" else kind


def _import_file(path: Path, slug: str) -> Any:
    """Import a tenant-local plugin module under a name no other module can have."""
    name = "congvu_tenant_plugin_" + "".join(c if c.isalnum() else "_" for c in slug)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _describe(value: Any) -> str:
    """A short, safe description of what a plugin returned (its repr may be long, or raise)."""
    if isinstance(value, type):
        return f"the class {value.__name__}"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a plugin's __repr__ is its own code
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 120 else text[:117] + "..."


def _instance_hint(value: Any) -> str:
    cls = value if isinstance(value, type) else type(value)
    return f"{cls.__name__}()" if isinstance(value, Component) or (isinstance(value, type)
                                                                   and issubclass(value, Component)) else "..."


def current_tenant_slug() -> str | None:
    """The slug of the tenant of the current request or job, or None outside any tenant."""
    from flask import g, has_app_context

    # The slug the request kept as text: the tenant row may have been expired by a commit
    # (a plugin event comes after one), and reading it would reload the row.
    slug = g.get("tenant_slug") if has_app_context() else None
    if slug is not None:
        return slug
    from core.tenancy import current_tenant_id

    tenant_id = current_tenant_id()
    if tenant_id is None:
        return None
    from core.extensions import db
    from core.tenants.models import Tenant

    row = db.session.get(Tenant, tenant_id)
    return row.slug if row is not None else None


def current_manager() -> PluginManager:
    """The application's plugin manager."""
    from flask import current_app

    return current_app.extensions["congvu_plugins"]


def init_app(app) -> PluginManager:
    """Build the application's plugin manager; PluginLoadError stops start-up."""
    manager = PluginManager.from_config(app.config).load(strict=True)
    app.extensions["congvu_plugins"] = manager
    log.info("plugins loaded: %s", ", ".join(n for n, r in manager.plugins.items() if r.loaded) or "none")
    return manager
