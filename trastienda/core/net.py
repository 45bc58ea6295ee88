"""The client's address, believing ``X-Forwarded-For`` only from trusted proxies."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def _is_trusted(address: str) -> bool:
    trusted = settings.TRASTIENDA_TRUSTED_PROXIES
    if not trusted:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in trusted:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request: Any) -> str:
    """Return the address of the client that sent ``request``.

    ``REMOTE_ADDR`` is the peer. Only when the peer is a trusted proxy do we walk
    ``X-Forwarded-For`` from the right, skipping trusted proxies, and take the first address
    that is not one: a client cannot forge its way past the proxy nearest to us.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104
    if not _is_trusted(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote
        if not _is_trusted(hop):
            return hop
    return remote
