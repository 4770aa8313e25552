"""Verifying a webhook from amebo in a receiver (a Flask handler, say): both signature schemes amebo
sends, and the timestamp tolerance of Standard Webhooks, so a captured delivery cannot be replayed
later. The same checks as the TypeScript client's ``verifyWebhook``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional, Union

from .errors import WebhookVerificationError

#: How far ``webhook-timestamp`` may be from now, in seconds: five minutes, as standardwebhooks uses.
TOLERANCE_SECONDS = 300


def _header(headers: Any, name: str) -> Optional[str]:
    # Flask's request.headers and http.client's message are case-insensitive; a plain dict is not.
    getter = getattr(headers, "get", None)
    if getter is not None:
        value = getter(name)
        if value is not None:
            return str(value)
    items = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        if str(key).lower() == name:
            return " ".join(value) if isinstance(value, (list, tuple)) else str(value)
    return None


def _key(secret: str) -> bytes:
    """The signing key: the base64 after a ``whsec_`` prefix, or the secret's UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode("utf-8")


def _any_matches(signatures: str, prefix: str, expected: str) -> bool:
    found = False
    for part in signatures.split(" "):
        # Every candidate is compared, so the time taken does not say which one matched.
        if part.startswith(prefix) and hmac.compare_digest(part[len(prefix):].encode(), expected.encode()):
            found = True
    return found


def verify_webhook(
    body: Union[bytes, bytearray, str],
    headers: Union[Mapping[str, Any], Any],
    secret: str,
    tolerance: int = TOLERANCE_SECONDS,
    now: Optional[float] = None,
) -> dict:
    """Checks a webhook amebo sent and returns its parsed body.

    ``body`` is the raw request body exactly as received (``request.get_data()`` in Flask), ``headers``
    the request headers, ``secret`` the subscribing application's secret. Both ``X-Amebo-Signature``
    (hex HMAC-SHA256 of the body) and the Standard Webhooks ``webhook-signature`` (base64 HMAC-SHA256
    of ``id.timestamp.body``) must match, and ``webhook-timestamp`` must be within ``tolerance``
    seconds of now. During a secret rotation amebo sends one signature per secret; either verifies.

    Raises ``WebhookVerificationError`` otherwise.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    amebo_signature = _header(headers, "x-amebo-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("the webhook-id, webhook-timestamp and webhook-signature headers are required")
    if not amebo_signature:
        raise WebhookVerificationError("the X-Amebo-Signature header is required")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookVerificationError("webhook-timestamp is not a unix time in seconds")
    current = int(time.time() if now is None else now)
    if current - int(timestamp) > tolerance:
        raise WebhookVerificationError("the timestamp is too old")
    if int(timestamp) - current > tolerance:
        raise WebhookVerificationError("the timestamp is in the future")
    key = _key(secret)
    if not _any_matches(amebo_signature, "sha256=", hmac.new(key, raw, hashlib.sha256).hexdigest()):
        raise WebhookVerificationError("X-Amebo-Signature does not match")
    signed = msg_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
    if not _any_matches(signatures, "v1,", expected):
        raise WebhookVerificationError("webhook-signature does not match")
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
