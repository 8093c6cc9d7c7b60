"""Entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""

from core import create_app

app = create_app()
