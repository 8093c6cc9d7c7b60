"""Tenants: the provinces (and other bodies) the platform hosts."""
