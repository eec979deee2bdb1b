"""Which browser origins may open WebSockets to us.

Default: the server's own origin and any origin on localhost (a dev server on another
port is a common, safe case). `NEXUS_ALLOWED_ORIGINS` replaces the default.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


class OriginPolicy:
    def __init__(self, allowed: list[str], own_origin: str) -> None:
        self.explicit = {origin.rstrip("/").lower() for origin in allowed}
        self.own = own_origin.rstrip("/").lower()

    def allows(self, origin: str | None, host: str | None = None) -> bool:
        """True for a missing origin (not a browser), the own origin, or an allowed one.

        `host` is the request's Host header: a page served by this server is allowed
        whatever name the user reached it by.
        """
        if not origin:
            return True
        origin = origin.rstrip("/").lower()
        if self.explicit:
            return origin in self.explicit or "*" in self.explicit
        parts = urlsplit(origin)
        if origin == self.own or (host and parts.netloc == host.lower()):
            return True
        return parts.scheme in {"http", "https"} and (parts.hostname or "") in LOCAL_HOSTS
