"""Stands in for the `plugins` package of built-ins in manager tests."""
