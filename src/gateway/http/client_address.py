"""Who is on the other end of a request: the address the form and login limits count under."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from fastapi import Request

Networks = Sequence[IPv4Network | IPv6Network]


def _trusted(host: str, proxies: Networks) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in proxies)


def client_address(request: Request, proxies: Networks) -> str:
    """The peer, unless it is a trusted proxy: then the rightmost X-Forwarded-For hop that is not one
    (what a client writes into the header itself stands to the left of what its proxies append)."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer
