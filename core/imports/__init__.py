"""Imports and exports: connectors' rows into the tenant's data, all or nothing, and
scores, classifications and bonus out as spreadsheets."""
