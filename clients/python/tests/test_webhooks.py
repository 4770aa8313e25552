"""verify_webhook on signatures computed here, the way amebo makes them (src/delivery/sign.ts);
test_seed_flask.py verifies the webhooks a real daemon sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unittest

from amebo_client import WebhookVerificationError, verify_webhook

BODY = json.dumps({"event_id": 42, "action": "user.created", "payload": {"user_id": "u1"}, "timestamp": "2026-11-24T10:00:00.000Z", "delivery_attempt": 1, "subscription": "welcome-emails"}).encode()
NOW = 1_764_000_000


def key(secret: str) -> bytes:
    return base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()


def signed(body: bytes = BODY, secrets=("email-service-secret",), msg_id: str = "msg_1_7", ts: int = NOW) -> dict:
    return {
        "Content-Type": "application/json",
        "X-Amebo-Signature": " ".join("sha256=" + hmac.new(key(s), body, hashlib.sha256).hexdigest() for s in secrets),
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join("v1," + base64.b64encode(hmac.new(key(s), f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode() for s in secrets),
    }


class VerifyWebhook(unittest.TestCase):
    def reason(self, body, headers, secret: str = "email-service-secret", now: int = NOW) -> str:
        with self.assertRaises(WebhookVerificationError) as caught:
            verify_webhook(body, headers, secret, now=now)
        self.assertEqual((caught.exception.status, caught.exception.error_code), (401, "AMEBO_ERR_WEBHOOK_VERIFICATION"))
        return caught.exception.reason

    def test_returns_the_parsed_body_from_bytes_or_text(self) -> None:
        self.assertEqual(verify_webhook(BODY, signed(), "email-service-secret", now=NOW)["event_id"], 42)
        self.assertEqual(verify_webhook(BODY.decode(), signed(), "email-service-secret", now=NOW)["action"], "user.created")

    def test_header_names_are_case_insensitive(self) -> None:
        lower = {k.lower(): v for k, v in signed().items()}
        upper = {k.upper(): v for k, v in signed().items()}
        self.assertEqual(verify_webhook(BODY, lower, "email-service-secret", now=NOW)["event_id"], 42)
        self.assertEqual(verify_webhook(BODY, upper, "email-service-secret", now=NOW)["event_id"], 42)

    def test_a_whsec_secret_is_a_base64_key(self) -> None:
        secret = "whsec_" + base64.b64encode(b"sixteen byte key").decode()
        self.assertEqual(verify_webhook(BODY, signed(secrets=(secret,)), secret, now=NOW)["event_id"], 42)
        # The same text taken as UTF-8 bytes is another key.
        self.assertEqual(self.reason(BODY, signed(secrets=(secret[6:],)), secret), "X-Amebo-Signature does not match")

    def test_either_signature_verifies_during_a_rotation(self) -> None:
        headers = signed(secrets=("new-secret-123", "old-secret-123"))
        self.assertEqual(verify_webhook(BODY, headers, "new-secret-123", now=NOW)["event_id"], 42)
        self.assertEqual(verify_webhook(BODY, headers, "old-secret-123", now=NOW)["event_id"], 42)
        self.assertEqual(self.reason(BODY, headers, "third-secret-1"), "X-Amebo-Signature does not match")

    def test_a_tampered_body_or_id_or_wrong_secret_fails(self) -> None:
        self.assertEqual(self.reason(BODY.replace(b"u1", b"u2"), signed()), "X-Amebo-Signature does not match")
        self.assertEqual(self.reason(BODY, signed(), "user-service-secret"), "X-Amebo-Signature does not match")
        self.assertEqual(self.reason(BODY, {**signed(), "webhook-id": "msg_2_7"}), "webhook-signature does not match")
        self.assertEqual(self.reason(BODY, {**signed(), "webhook-timestamp": str(NOW + 1)}), "webhook-signature does not match")

    def test_both_schemes_are_required(self) -> None:
        headers = signed()
        del headers["X-Amebo-Signature"]
        self.assertEqual(self.reason(BODY, headers), "the X-Amebo-Signature header is required")
        headers = signed()
        del headers["webhook-signature"]
        self.assertIn("webhook-signature", self.reason(BODY, headers))
        # A valid hex signature does not rescue a forged Standard Webhooks one.
        self.assertEqual(self.reason(BODY, {**signed(), "webhook-signature": "v1,Zm9yZ2Vk"}), "webhook-signature does not match")

    def test_the_timestamp_must_be_within_five_minutes(self) -> None:
        self.assertEqual(verify_webhook(BODY, signed(), "email-service-secret", now=NOW + 300)["event_id"], 42)
        self.assertEqual(verify_webhook(BODY, signed(), "email-service-secret", now=NOW - 300)["event_id"], 42)
        self.assertEqual(self.reason(BODY, signed(), now=NOW + 301), "the timestamp is too old")
        self.assertEqual(self.reason(BODY, signed(), now=NOW - 301), "the timestamp is in the future")
        self.assertEqual(self.reason(BODY, {**signed(), "webhook-timestamp": "soon"}), "webhook-timestamp is not a unix time in seconds")


if __name__ == "__main__":
    unittest.main()
