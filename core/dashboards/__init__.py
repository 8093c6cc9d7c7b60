"""Dashboards: my month and trend, the unit, the province, jobs and the operator overview."""
