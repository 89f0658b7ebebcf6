"""Where a digest may be sent: the service must not become a way to reach its own network (SSRF).

A subscription's URL is `http` or `https`, with a host and without credentials or a fragment.

- With TTHC_WEBHOOK_ALLOWED_HOSTS set (comma-separated host names or IP addresses), the URL's host
  must be one of them, exactly (case aside); a listed host may be internal (a receiver on the same
  network is allowed by naming it).
- Unset (the default), any host on the public internet: an IP address that is not global (loopback,
  private, link-local such as the cloud metadata address 169.254.169.254, carrier-grade NAT,
  reserved, multicast, unspecified) is refused, and so are `localhost`, names under `.localhost`,
  `.local`, `.internal`, `.localdomain`, `.home.arpa` and single-label names (a search domain could
  make them internal). Before each attempt the name is resolved again and every address it resolves
  to must be global; a plain-`http` attempt then connects to the address that was checked (so a name
  that resolves differently a moment later cannot redirect it), an `https` one to the name, whose
  certificate an internal service would not present. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.core.errors import ValidationFailed

MAX_URL_LENGTH = 2000
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


class TargetRefused(Exception):
    """The URL may not be called; the message says why (never with a secret)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lowercase, without brackets
    port: int
    path: str  # path and query, at least "/"


def parse_target(url: str) -> Target:
    """The URL's parts, or TargetRefused when it is not an http(s) URL this service would call."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise TargetRefused("contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("the scheme must be http or https")
    if not parts.hostname:
        raise TargetRefused("has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry credentials")
    if parts.fragment:
        raise TargetRefused("must not have a fragment")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80), path
    )


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _internal_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_host(target: Target, allowed_hosts: list[str]) -> None:
    """TargetRefused unless the host may be named (before any name is resolved)."""
    if allowed_hosts:
        if target.host not in allowed_hosts:
            raise TargetRefused("the host is not in TTHC_WEBHOOK_ALLOWED_HOSTS")
        return
    ip = _ip(target.host)
    if ip is not None:
        if _internal_address(ip):
            raise TargetRefused("an internal address (loopback, private, link-local or reserved)")
        return
    name = target.host.rstrip(".")
    if name == "localhost" or name.endswith(_INTERNAL_SUFFIXES) or "." not in name:
        raise TargetRefused("an internal host name")


def check_url(url: str, allowed_hosts: list[str], loc: list[str | int]) -> Target:
    """The URL of a new subscription, or a 422 naming `loc` and saying why."""
    try:
        target = parse_target(url)
        check_host(target, allowed_hosts)
    except TargetRefused as exc:
        raise ValidationFailed(
            f"The URL is refused: {exc}.",
            errors=[{"loc": loc, "msg": f"URL refused: {exc}", "type": "value_error"}],
        ) from exc
    return target


def resolve(target: Target, allowed_hosts: list[str]) -> str:
    """The address to connect to, checked again now (TargetRefused when it may not be called)."""
    check_host(target, allowed_hosts)
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"the host does not resolve ({exc.strerror or exc})") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise TargetRefused("the host does not resolve")
    if not allowed_hosts:
        for a in addresses:
            ip = _ip(a.split("%", 1)[0])
            if ip is None or _internal_address(ip):
                raise TargetRefused("the host resolves to an internal address")
    return addresses[0]
