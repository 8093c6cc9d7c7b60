"""Bonus runs: a year's fund shared by the tenant's bonus scheme in whole đồng."""
