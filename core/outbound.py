"""Which URLs the platform may call on a tenant's behalf (webhooks, live connectors).

A tenant admin must not be able to make the platform call into its own network (the
database, Redis, the cloud's metadata service) or itself: only http(s) to public
addresses, unless the operator allows private ones (CONGVU_OUTBOUND_ALLOW_PRIVATE, for a
province's internal systems and for tests). Callers check when a URL is saved and again
before every request, since a name can point elsewhere later."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app


class UnsafeUrl(ValueError):
    pass


def check(url: str, own_hosts: set[str] | None = None) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("Not a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("Only http:// or https:// addresses.")
    if parts.username or parts.password:
        raise UnsafeUrl("No user name or password in the address; the signature authenticates us.")
    host = parts.hostname.lower()
    if host in (own_hosts or set()):
        raise UnsafeUrl("The address is this platform's own.")
    if current_app.config.get("CONGVU_OUTBOUND_ALLOW_PRIVATE"):
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl("The host name does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global:
            raise UnsafeUrl("The address is private, local or reserved.")
