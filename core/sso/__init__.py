"""Single sign-on with a tenant's OpenID Connect provider (the province's central login)."""
