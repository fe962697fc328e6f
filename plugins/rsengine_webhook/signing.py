"""Standard Webhooks v1 signatures (standard-webhooks spec 1.0.0).

The signed content is ``f"{webhook_id}.{timestamp}.".encode() + body``, the raw
bytes sent; the signature is ``v1,<base64 HMAC-SHA256(key, content)>``. Several
keys (rotation) give several signatures, space-separated in one header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # the spec asks for 24 to 64 random bytes
TOLERANCE_S = 300  # a receiver refuses stamps further than this from its clock
NEW_SECRET = (
    "python -c \"import base64, os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())\""
)


class SecretFormatError(ValueError):
    """A secret that is not ``whsec_<base64>``; the message never quotes it."""


class VerificationError(ValueError):
    """A request whose headers or signature do not verify."""


def decode_secret(text: str) -> bytes:
    """``whsec_<base64>`` (or the bare base64) -> the HMAC key."""
    text = text.strip()
    if text.startswith(PREFIX):
        text = text[len(PREFIX) :]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SecretFormatError(
            f"is not a whsec_<base64> secret (make one with: {NEW_SECRET})"
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise SecretFormatError(
            f"decodes to {len(key)} bytes; a Standard Webhooks secret has {MIN_KEY_BYTES} to 64 "
            f"random bytes (make one with: {NEW_SECRET})"
        )
    return key


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(keys, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers (a signature per key; none without keys)
    and an ``Idempotency-Key`` equal to the webhook-id."""
    out = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "Idempotency-Key": webhook_id,
    }
    if keys:
        out["webhook-signature"] = " ".join(sign(k, webhook_id, timestamp, body) for k in keys)
    return out


def verify(keys, body: bytes, request_headers, now: float | None = None) -> str:
    """Checks a request as a Standard Webhooks receiver does; returns its
    webhook-id. Raises :class:`VerificationError`."""
    lower = {k.lower(): v for k, v in request_headers.items()}
    webhook_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (webhook_id and stamp and signatures):
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise VerificationError("webhook-timestamp is not unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_S:
        raise VerificationError(f"webhook-timestamp is more than {TOLERANCE_S} s from now")
    given = [s.encode() for s in signatures.split(" ") if s]
    for key in keys:
        expected = sign(key, webhook_id, timestamp, body).encode()
        if any(hmac.compare_digest(expected, s) for s in given):
            return webhook_id
    raise VerificationError("no signature matches")
