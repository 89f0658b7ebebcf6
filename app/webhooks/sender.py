"""One POST of a digest to a receiver, over the standard library's HTTP client: no redirects followed,
a timeout on connecting and on each read, at most RESPONSE_PEEK bytes of the answer read."""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass

from app.webhooks.targets import Target, TargetRefused, resolve

RESPONSE_PEEK = 4096
MAX_ERROR = 300  # characters of an error kept with a delivery


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None  # the receiver's HTTP status, when it answered
    error: str | None  # why it failed, for the deliveries' list


def post(
    target: Target, allowed_hosts: list[str], body: bytes, headers: dict[str, str], timeout: float
) -> Outcome:
    """POST `body`; ok on any 2xx answer."""
    try:
        address = resolve(target, allowed_hosts)
    except TargetRefused as exc:
        return Outcome(False, None, f"refused: {exc}"[:MAX_ERROR])
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != default_port:
        host_header += f":{target.port}"
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        # The address just checked, not the name again: see app.webhooks.targets.
        conn = http.client.HTTPConnection(address, target.port, timeout=timeout)
    try:
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Host": host_header,
                "Content-Type": "application/json",
                "User-Agent": "tthc-metrics-webhook/1",
                **headers,
            },
        )
        response = conn.getresponse()
        response.read(RESPONSE_PEEK)
        if 200 <= response.status < 300:
            return Outcome(True, response.status, None)
        return Outcome(False, response.status, f"HTTP {response.status} {response.reason}"[:MAX_ERROR])
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    finally:
        conn.close()
