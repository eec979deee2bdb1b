"""Where webhooks and extension commands may go: the SSRF guard.

Only `http` and `https`, and only to public addresses: a target that resolves to a
loopback, private, link-local, multicast, unspecified or reserved address is refused —
when the extension is registered, and again on every connection, against the address
actually connected to (a name that resolved to a public address at registration and to
169.254.169.254 later is caught: DNS rebinding). `NEXUS_WEBHOOK_ALLOWED_HOSTS` lists host
names or CIDRs that are allowed anyway (a receiver on the same machine, in tests).

The check runs as the HTTP client (`extensions.http`) opens each connection, against the
address it connects to, so nothing gets around it: redirects are not followed and no
proxy is used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from server.errors import InvalidInput

RESOLVE_TIMEOUT_SECONDS = 5.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(Exception):
    """A connection the guard would not open; the message says why."""


def blocked_reason(ip: Address) -> str | None:
    """Why an address is not a public one (None when it is)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return reason
    return None if ip.is_global else "non-public"


@dataclass(frozen=True)
class TargetPolicy:
    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, allowed: Iterable[str]) -> TargetPolicy:
        hosts, networks = set(), []
        for entry in allowed:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def check_address(self, host: str, address: str) -> None:
        """`TargetRefused` unless `address` (what `host` resolved to) may be reached."""
        if host.lower().rstrip(".") in self.hosts:
            return
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in self.networks):
            return
        reason = blocked_reason(ip)
        if reason is not None:
            shown = host if host == address else f"{host} ({address})"
            raise TargetRefused(
                f"{shown} is a {reason} address; list it in NEXUS_WEBHOOK_ALLOWED_HOSTS to allow it"
            )

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to, all checked (one bad one refuses the host:
        a name with a public and a private address could be made to pick either)."""
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise TargetRefused(f"{host} does not resolve: {exc.strerror}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        for address in addresses:
            self.check_address(host, address)
        return addresses

    async def check_url(self, url: str) -> None:
        """Registration: `InvalidInput` with a clear message for a URL we would not call."""
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
            raise InvalidInput("webhook_url: spaces and control characters are not allowed")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise InvalidInput("webhook_url: only http and https URLs are allowed")
        if not parts.hostname:
            raise InvalidInput("webhook_url: the URL has no host")
        if parts.username or parts.password:
            raise InvalidInput("webhook_url: credentials in the URL are not allowed")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                await self.resolve(parts.hostname, port)
        except ValueError as exc:
            raise InvalidInput(f"webhook_url: {exc}") from None
        except TimeoutError:
            raise InvalidInput(f"webhook_url: {parts.hostname} did not resolve in time") from None
        except TargetRefused as exc:
            raise InvalidInput(f"webhook_url refused: {exc}") from None
