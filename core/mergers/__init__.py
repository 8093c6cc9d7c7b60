"""Mergers: a tenant into another (provinces) and units within a tenant (agencies, communes)."""
