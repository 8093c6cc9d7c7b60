"""Background jobs: RQ when Redis is configured, inline otherwise, recorded in the database."""
