"""The tenant admin's screens: employees and logins, units, positions, the catalogue, months."""
