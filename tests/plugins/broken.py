"""A plugin that cannot be imported: start-up must stop and name it."""

raise RuntimeError("this plugin is broken on purpose")
