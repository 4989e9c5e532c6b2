"""Where webhooks may point: public hosts only, so that a subscriber cannot make the server
call services on its own network (server-side request forgery) — unless settings allow it.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import ValidationFailed

# Only the resolver's answer matters here; the port is a placeholder.
_ANY_PORT = 443


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(
        "unusable webhook URL", errors=[{"field": "webhook_url", "message": message}]
    )


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, _ANY_PORT, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        # Unresolvable now: deliveries will fail and be logged; nothing internal is reached.
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def check_webhook_target(url: str, *, allow_private: bool) -> None:
    """422 when ``url`` names a loopback, private, link-local or otherwise non-public address."""
    host = urlsplit(url).hostname or ""
    if allow_private:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise _refuse(f"{host} is this server itself")
    for address in _addresses(host):
        if not address.is_global:
            raise _refuse(f"{host} resolves to {address}, which is not a public address")
