"""What every response of the service shares, in one place rather than per route.

- **HEAD** is answered wherever GET is: the request goes through as a GET (the same routing, checks,
  ETag and cache) and the response keeps its status and headers, `Content-Length` included, without
  its body (RFC 9110 §9.3.2).
- **Redirects are relative.** Starlette writes the redirect of a path with (or without) a trailing
  slash as an absolute URL built from the request's scheme and `Host`, which is wrong behind a TLS
  proxy (`http://` for an `https://` page) or one that rewrites the host. A `Location` on the
  request's own host keeps only its path and query (`/dashboard`), which a browser resolves against
  the address it actually used.
- **`Allow`** (of a `405`) names HEAD wherever it names GET.
- **`X-Content-Type-Options: nosniff`** on every response: a browser never guesses a type the
  service did not send (a JSON error read as HTML, a text file run as a script).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")


def relative_location(location: str, host: str | None) -> str:
    """`location` without its scheme and authority when it points at `host`; otherwise unchanged."""
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or host is None or parts.netloc.lower() != host.lower():
        return location
    path = parts.path or "/"
    if path.startswith("//"):
        # `//x` alone would be read as another host (a protocol-relative reference).
        path = "/%2F" + path[2:]
    return path + ("?" + parts.query if parts.query else "")


def with_head(allow: str) -> str:
    """An `Allow` list that names HEAD wherever it names GET."""
    methods = [m.strip() for m in allow.split(",") if m.strip()]
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


def _edge_header(name: bytes, value: bytes, host: str | None) -> tuple[bytes, bytes]:
    lower = name.lower()
    if lower == b"location":
        return name, relative_location(value.decode("latin-1"), host).encode("latin-1")
    if lower == b"allow":
        return name, with_head(value.decode("latin-1")).encode("latin-1")
    return name, value


class HttpEdgesMiddleware:
    """HEAD as GET without the body, relative redirects, nosniff (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        ended = False

        async def edged(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                headers = [_edge_header(k, v, host) for k, v in message.get("headers", [])]
                if not any(k.lower() == NOSNIFF[0] for k, _ in headers):
                    headers.append(NOSNIFF)
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                if ended:
                    return
                if message.get("more_body", False):
                    # The body of a HEAD response is dropped; its end is sent once, with the last part.
                    return
                ended = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, edged)
