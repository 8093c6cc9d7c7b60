"""The contract's error format: {"code", "message", "errors": {field: [..]}}.

API paths answer JSON; pages answer a short HTML page. Nothing a user sends produces
a 500: unexpected exceptions are logged and answered as a generic 500 without detail.
"""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_smorest import abort as _smorest_abort
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}

MESSAGES = {
    400: "The request is malformed.",
    401: "Authentication is required.",
    403: "You do not have permission to do this.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "The request conflicts with the current state.",
    413: "The upload is too large.",
    422: "Some fields are invalid.",
    429: "Too many attempts; try again later.",
    500: "Internal error.",
}

# The answer when the database is lost mid-request; Retry-After is in seconds.
DATABASE_UNAVAILABLE = {"code": "database_unavailable",
                        "message": "The database is not answering; try again in a few seconds."}
DATABASE_RETRY_AFTER = 5


def api_wants_vietnamese() -> bool:
    """Whether an API caller asked for Vietnamese messages (Accept-Language: vi, or
    ?lang=vi). The API answers English otherwise: its contract's source language, which
    scripts may match on."""
    if request.args.get("lang") in ("vi", "en"):
        return request.args["lang"] == "vi"
    return request.accept_languages.best_match(("vi", "en")) == "vi"


def _api_localised(payload: dict) -> dict:
    if not api_wants_vietnamese():
        return payload
    from core.messages import localise, localise_errors

    out = {**payload, "message": localise(payload.get("message"), "vi")}
    if payload.get("errors"):
        out["errors"] = localise_errors(payload["errors"], "vi")
    return out


def abort(status: int, message: str | None = None, errors: dict | None = None, code: str | None = None,
          headers: dict | None = None):
    """Stop the request with the contract's error body."""
    kwargs: dict = {"message": message or MESSAGES.get(status, "Error.")}
    if errors:
        kwargs["errors"] = errors
    if code:
        kwargs["machine_code"] = code
    if headers:
        kwargs["headers"] = headers
    _smorest_abort(status, **kwargs)


def _flatten(errors: dict) -> dict:
    """webargs groups errors by location ({"json": {...}}); the contract lists fields."""
    flat: dict = {}
    for key, value in errors.items():
        if key in ("json", "query", "form", "files", "path", "headers", "view_args") and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def error_payload(error: HTTPException) -> tuple[dict, dict]:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    payload = {
        "code": data.get("machine_code") or CODES.get(status, "error"),
        "message": data.get("message") or MESSAGES.get(status) or error.description or "Error.",
    }
    errors = data.get("errors") or data.get("messages")
    if errors:
        payload["errors"] = _flatten(errors)
        if "message" not in data:
            payload["message"] = MESSAGES.get(status, "Invalid input.")
    headers = dict(data.get("headers") or {})
    return payload, headers


def _allow(error: HTTPException) -> dict[str, str]:
    """A 405 names the methods the resource does take (RFC 9110, 15.5.6)."""
    methods = getattr(error, "valid_methods", None)
    return {"Allow": ", ".join(sorted(set(methods)))} if error.code == 405 and methods else {}


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status == 500:
        log.exception("internal error", exc_info=getattr(error, "original_exception", None) or error)
    if request.path.startswith("/api/"):
        payload, headers = error_payload(error)
        response = jsonify(_api_localised(payload))
        response.status_code = status
        for key, value in {**_allow(error), **headers}.items():
            response.headers[key] = value
        if status == 429 and getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    return render_template("error.html", status=status, message=_page_message(error, status)), status, _allow(error)


def _page_message(error: HTTPException, status: int) -> str:
    from core.messages import localise

    data = getattr(error, "data", None) or {}
    # A description given to abort() says more than werkzeug's English default.
    custom = error.description if error.description != type(error).description else None
    return localise(data.get("message") or custom or MESSAGES.get(status, ""))


class ServiceError(Exception):
    """Raised by services (which know no HTTP); the app maps it to the contract."""

    status = 400

    def __init__(self, message: str, errors: dict | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.code = code


class Invalid(ServiceError):
    status = 422


class Conflict(ServiceError):
    status = 409


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


def handle_service_error(error: ServiceError):
    if getattr(error, "needs_rollback", False):
        # A statement the database refused (core/work/closed_guard.py): the page's layout
        # reads the database, which an aborted transaction would refuse with a 500.
        from core.extensions import db

        db.session.rollback()
    if request.path.startswith("/api/"):
        payload = {"code": error.code or CODES.get(error.status, "error"), "message": error.message}
        if error.errors:
            payload["errors"] = error.errors
        response = jsonify(_api_localised(payload))
        response.status_code = error.status
        return response
    from core.messages import error_text

    return render_template("error.html", status=error.status, message=error_text(error)), error.status


def handle_out_of_range(error: Exception):
    """A number the database cannot hold (a query id beyond BIGINT, say) is the caller's
    mistake, not a server error: 422, with nothing written (the transaction is dropped)."""
    from core.extensions import db

    db.session.rollback()
    log.info("value out of range: %s", str(error).splitlines()[0][:200])
    return handle_service_error(Invalid("A number is out of range.", {"_value": ["Out of range."]}))


_UNAVAILABLE_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>503 · congvu</title></head>
<body><h1>503</h1>
<p>Cơ sở dữ liệu tạm thời không phản hồi; vui lòng thử lại sau vài giây.</p>
<p lang="en">The database is not answering; try again in a few seconds.</p>
<p><a href="">Thử lại / Try again</a></p></body></html>
"""


def handle_database_unavailable(error: Exception):
    """The database stopped answering mid-request (restarted, failed over, our connections
    cut, the pool exhausted): 503 with Retry-After instead of a 500 page. The request's
    transaction is dropped, so nothing of it is written; the pool has discarded the dead
    connection and checks the others before handing them out (core/liveness.py), so the next
    request gets a live one. The page is self-contained: rendering the site's layout could
    ask the database again."""
    from core.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool invalidates it
        log.debug("rollback after a lost connection failed", exc_info=True)
    log.warning("database unavailable (%s): %s", type(error).__name__, str(error).splitlines()[0][:300] if str(error)
                else "")
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
    if request.path.startswith("/api/"):
        response = jsonify(DATABASE_UNAVAILABLE)
        response.status_code = 503
        response.headers.update(headers)
        return response
    return _UNAVAILABLE_PAGE, 503, {**headers, "Content-Type": "text/html; charset=utf-8"}
