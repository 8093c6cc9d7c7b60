"""Pages of the official documents (filled below)."""

from __future__ import annotations

from flask import Blueprint

document_pages = Blueprint("document_pages", __name__, template_folder="templates")
