"""gunicorn target of `python -m bench --without-scoring-refresh` (see bench/diagnostic.py)."""

from bench.diagnostic import remove_scoring_refresh
from wsgi import app  # noqa: F401 - gunicorn serves this

remove_scoring_refresh()
