"""The organisation: units, job positions and employees of a tenant."""
