"""The digest's signature: `X-TTHC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.

A receiver recomputes the HMAC over the timestamp, a dot and the exact bytes received, compares it in
constant time, and refuses a timestamp older than five minutes (a replayed delivery); docs/API.md
has a receiver's code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-TTHC-Signature"
DELIVERY_HEADER = "X-TTHC-Delivery"
TOLERANCE_SECONDS = 300


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
