"""Modules starting with an underscore are helpers, not plugins: never registered."""

raise RuntimeError("must not be imported")
