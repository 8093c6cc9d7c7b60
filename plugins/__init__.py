"""Built-in plugins: one module per plugin, registered by the plugin manager exactly
like a vendor's (same hooks, same component classes from ``core.plugins.toolkit``).

Every module here that does not start with ``_`` is loaded at start-up, whatever the
operator's allow-list says: tenants' defaults rely on them.
"""
