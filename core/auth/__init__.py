"""Authentication and permissions: logins, sessions, API tokens, roles."""
