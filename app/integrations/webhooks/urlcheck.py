"""Checks on webhook target URLs (回调地址校验), so that a subscription cannot make Minqing call
into its own network (server-side request forgery).

:func:`check_target_url` runs when a subscription is created or changed, and again before each
delivery, because DNS answers change. The transport should also check the address it actually
connects to with :func:`address_refusal`, which closes the gap between the lookup here and the
connection (DNS rebinding).

What is refused:

* schemes other than ``http``/``https``, credentials in the URL, and hosts written ambiguously
  (backslashes, whitespace, numeric IPv4 shorthands such as ``127.1`` or ``0x7f.0.0.1``);
* hosts outside the allowlist, when one is configured (``host.example`` matches that host only,
  ``*.example.org`` matches any subdomain of ``example.org`` but not ``example.org`` itself);
* hosts that are, or resolve to, any address that is not public. ``allow_private`` lets through
  RFC 1918 / unique-local networks and the CGNAT shared space (100.64.0.0/10), for deployments whose
  receivers live on an internal network; ``allow_loopback`` lets through loopback, for development.
  Link-local (including the cloud metadata address 169.254.169.254), multicast, unspecified and
  other reserved addresses are always refused.

IPv6 addresses that embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64
``64:ff9b::/96``) are judged by the IPv4 address they carry.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

from app.errors import ValidationFailed, field_error

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Iterable[str]]]
"""``(host, port) -> addresses``: how a host name is turned into IP address strings."""

RESOLVE_TIMEOUT = 5.0
ALLOWED_SCHEMES = {"http": 80, "https": 443}

_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
_SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_AMBIGUOUS_CHARS = re.compile(r"[\s\\\x00-\x1f\x7f]")


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"The webhook URL is refused: {reason}.",
        code="webhook_url_refused",
        errors=[field_error("url", reason)],
    )


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64_NETWORK:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def address_refusal(ip: IPAddress, *, allow_private: bool, allow_loopback: bool) -> str | None:
    """Why ``ip`` may not be called (e.g. ``"a loopback address"``), or ``None`` if it may."""
    ip = _embedded_ipv4(ip)
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _SHARED_NETWORK:
        return None if allow_private else "a shared (CGNAT) address"
    if any(ip in network for network in _PRIVATE_NETWORKS):
        return None if allow_private else "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a special-purpose address"
    return None


def _normalise_host(host: str) -> str | None:
    """Lower-case ASCII form of a host (IDNA for non-ASCII names), or ``None`` if not encodable."""
    host = host.lower().removesuffix(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def host_allowed(host: str, allowlist: Sequence[str]) -> bool:
    """Whether ``host`` matches an allowlist entry (exact host, or ``*.suffix`` for subdomains)."""
    host = _normalise_host(host) or ""
    for entry in allowlist:
        entry = entry.strip()
        wildcard = entry.startswith("*.")
        pattern = _normalise_host(entry[2:] if wildcard else entry.strip("[]"))
        if not pattern:
            continue
        if host.endswith("." + pattern) if wildcard else host == pattern:
            return True
    return False


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_target_url(
    url: str,
    *,
    allowlist: Sequence[str],
    allow_private: bool,
    allow_loopback: bool,
    resolver: Resolver | None = None,
) -> None:
    """Raise :class:`ValidationFailed` (``webhook_url_refused``) unless ``url`` may be called."""
    if _AMBIGUOUS_CHARS.search(url):
        raise _refuse("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse("the URL is not valid") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise _refuse("only http and https URLs can be called")
    if parts.username is not None or parts.password is not None:
        raise _refuse("the URL must not contain credentials")
    if not parts.hostname:
        raise _refuse("the URL has no host")
    host = _normalise_host(parts.hostname)
    if not host:
        raise _refuse("the host name is not valid")
    port = port or ALLOWED_SCHEMES[scheme]

    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        literal = None
    if literal is None:
        labels = host.split(".")
        if _NUMERIC_LABEL.fullmatch(labels[-1]):
            raise _refuse("the host looks like an IP address but is not written in standard form")
        if not all(_HOST_LABEL.fullmatch(label) for label in labels):
            raise _refuse("the host name is not valid")

    if allowlist and not host_allowed(host, allowlist):
        raise _refuse(f"the host {host} is not on the allowlist")

    if literal is not None:
        addresses = [literal]
    else:
        resolve = resolver or _system_resolver
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                answers = list(await resolve(host, port))
        except (OSError, TimeoutError) as exc:
            raise _refuse(f"the host {host} could not be resolved") from exc
        try:
            addresses = [ipaddress.ip_address(a.partition("%")[0]) for a in answers]
        except ValueError as exc:
            raise _refuse(f"the host {host} resolved to something that is not an IP address") from exc
        if not addresses:
            raise _refuse(f"the host {host} could not be resolved")

    for address in addresses:
        reason = address_refusal(address, allow_private=allow_private, allow_loopback=allow_loopback)
        if reason is not None:
            where = "is" if literal is not None else f"resolves to {address}, which is"
            raise _refuse(f"the host {host} {where} {reason}")
