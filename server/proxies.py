"""Behind a reverse proxy: believe its X-Forwarded-* headers, and only from the proxies the
operator names (HELPDESK_TRUSTED_PROXIES); anyone else could write them to pose as another
client (the login throttle counts per address) or to make the app link elsewhere."""

from __future__ import annotations

import ipaddress
import re

from helpdesk.config import ProxyNetwork

# A host name or address with an optional port: nothing that could bend a link's meaning.
SANE_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:\d{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?")


class TrustedProxies:
    """WSGI middleware: when the peer is a trusted proxy, the client is the right-most address
    of X-Forwarded-For that is not a trusted proxy, and X-Forwarded-Proto/Host (the values the
    nearest proxy set, right-most) become the request's scheme and host. The peer's own
    address is kept in the environ as `helpdesk.peer`."""

    def __init__(self, app, networks: tuple[ProxyNetwork, ...]):
        self.app = app
        self.networks = networks

    def trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """Walk the chain from the nearest hop: each trusted proxy vouches for the one before
        it; the first hop that is not trusted is the client. Anything that is not an address
        ends the walk: what lies left of it was written by an unknown party."""
        client = peer
        for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
            try:
                client = str(ipaddress.ip_address(hop))
            except ValueError:
                break
            if not self.trusted(client):
                break
        return client

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR")
        if self.trusted(peer):
            environ["helpdesk.peer"] = peer
            environ["REMOTE_ADDR"] = self.client(peer, environ.get("HTTP_X_FORWARDED_FOR", ""))
            proto = _nearest(environ.get("HTTP_X_FORWARDED_PROTO")).lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
            host = _nearest(environ.get("HTTP_X_FORWARDED_HOST"))
            if SANE_HOST.fullmatch(host):
                environ["HTTP_HOST"] = host
        return self.app(environ, start_response)


def _nearest(header: str | None) -> str:
    return (header or "").rsplit(",", 1)[-1].strip()
