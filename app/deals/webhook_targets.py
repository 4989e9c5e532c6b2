"""Where webhooks may point: public hosts only, so that a subscriber cannot make the server
call services on its own network (server-side request forgery) — unless settings allow it.

The name is checked when a subscription is made (a 422 for the subscriber) and again at every
delivery, when it is resolved once and the request goes to the address that was checked: a
name that resolves to a public address at subscription time and to 127.0.0.1 later (DNS
rebinding) is refused then, and no second lookup can change the address in between.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import ValidationFailed

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Only the resolver's answer matters here; the port is a placeholder.
_ANY_PORT = 443
# IPv6 ranges that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052) and the
# deprecated IPv4-compatible form. 6to4, Teredo and IPv4-mapped have ipaddress properties.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class TargetRefused(Exception):
    """The webhook host is, or resolves to, an address the server must not call."""


@dataclass(frozen=True)
class ResolvedTarget:
    """A webhook URL pinned to one checked address."""

    url: str  # the URL with its host replaced by the checked address
    hostname: str  # the original host name: the TLS server name (SNI, certificate check)
    host_header: str  # the original host[:port], sent as the Host header


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: IpAddress) -> bool:
    """True for a globally routable unicast address, IPv4 inside IPv6 included."""
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        return all(is_public(inner) for inner in _embedded_ipv4(address))
    return True


def resolve(host: str) -> list[IpAddress]:
    """The addresses ``host`` stands for (itself when it is a literal); empty if unresolvable."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, _ANY_PORT, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    # Scope ids ("fe80::1%eth0") are not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def public_addresses(host: str) -> list[IpAddress]:
    """The addresses of ``host`` when every one is public; ``TargetRefused`` otherwise."""
    if host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused(f"{host} is this server itself")
    addresses = resolve(host)
    for address in addresses:
        if not is_public(address):
            raise TargetRefused(f"{host} resolves to {address}, which is not a public address")
    return addresses


def check_webhook_target(url: str, *, allow_private: bool) -> None:
    """422 when ``url`` names a loopback, private, link-local or otherwise non-public address.

    An unresolvable name passes: deliveries to it fail and are logged, nothing is reached.
    """
    if allow_private:
        return
    try:
        public_addresses(urlsplit(url).hostname or "")
    except TargetRefused as exc:
        raise ValidationFailed(
            "unusable webhook URL", errors=[{"field": "webhook_url", "message": str(exc)}]
        ) from None


def pin_target(url: str, *, allow_private: bool) -> ResolvedTarget:
    """Resolve the URL's host once, check it, and point the URL at the checked address.

    ``TargetRefused`` when the host does not resolve or resolves to a non-public address.
    With ``allow_private`` the URL is used as it is.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    host_header = parts.netloc.rpartition("@")[2]
    if allow_private:
        return ResolvedTarget(url, host, host_header)
    addresses = public_addresses(host)
    if not addresses:
        raise TargetRefused(f"{host} does not resolve")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{netloc}" if userinfo else netloc
    return ResolvedTarget(parts._replace(netloc=netloc).geturl(), host, host_header)
