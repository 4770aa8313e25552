"""The seed's services (shared/seeds/microservices.md) as real Flask apps talking to a real amebo.
Their code is the seed's, as written: the publishers call ``amebo_client.publish_event`` configured by
the environment, the webhook handlers read ``request.json``; the handlers only gain one line, the
``verify_webhook`` call the seed leaves out. Flask is Debian's python3-flask (.ci/run installs it)."""

from __future__ import annotations

import datetime
import json
import logging
import os
import threading
import types
import unittest
import urllib.error
import urllib.request
from itertools import count
from unittest import mock

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

import amebo_client

from .support import URL, admin, eventually

# werkzeug logs each request to stderr; the test's output is the unittest report.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

EMAIL_SERVICE_SECRET = "email-service-secret"
ANALYTICS_SERVICE_SECRET = "analytics-service-secret"

# What the services' own code does, recorded so the test can see it.
sent_emails: list = []
analytics_events: list = []
_ids = count(1)


def send_welcome_email(email, name, plan):
    sent_emails.append({"to": email, "name": name, "plan": plan})


def track_user_registration(payload):
    analytics_events.append({"action": "user.created", "payload": payload})


def track_order_placement(payload):
    analytics_events.append({"action": "order.placed", "payload": payload})


class _Row(types.SimpleNamespace):
    def to_dict(self):
        return {k: (v.isoformat() if isinstance(v, datetime.datetime) else v) for k, v in vars(self).items()}


def create_user_in_db(user_data):
    return _Row(id=f"user-{next(_ids)}", email=user_data["email"], name=user_data["name"], plan=user_data.get("plan", "free"), created_at=datetime.datetime.utcnow())


def create_order_in_db(order_data):
    return _Row(id=f"order-{next(_ids)}", user_id=order_data["user_id"], items=order_data["items"], total=order_data["total"], currency=order_data.get("currency", "EUR"), created_at=datetime.datetime.utcnow())


# ---- User Service - Handle registration (the seed's code) ----
app = user_service = Flask("user_service")


@app.route('/users', methods=['POST'])
def create_user():
    user_data = request.json

    # Create user in database
    user = create_user_in_db(user_data)

    # Publish event
    amebo_client.publish_event('user.created', {
        'user_id': user.id,
        'email': user.email,
        'name': user.name,
        'plan': user.plan,
        'created_at': user.created_at.isoformat()
    })

    return jsonify(user.to_dict()), 201


# ---- Order Service - Handle order placement (the seed's code) ----
app = order_service = Flask("order_service")


@app.route('/orders', methods=['POST'])
def place_order():
    order_data = request.json

    # Validate and create order
    order = create_order_in_db(order_data)

    # Publish order placed event
    amebo_client.publish_event('order.placed', {
        'order_id': order.id,
        'user_id': order.user_id,
        'items': order.items,
        'total': float(order.total),
        'currency': order.currency,
        'placed_at': order.created_at.isoformat()
    })

    return jsonify(order.to_dict()), 201


# ---- Email Service - Handle user events (the seed's code, plus verify_webhook) ----
app = email_service = Flask("email_service")


@app.route('/webhooks/user-created', methods=['POST'])
def handle_user_created():
    amebo_client.verify_webhook(request.get_data(), request.headers, EMAIL_SERVICE_SECRET)
    event = request.json
    user_data = event['payload']

    # Send welcome email
    send_welcome_email(
        email=user_data['email'],
        name=user_data['name'],
        plan=user_data.get('plan', 'free')
    )

    return jsonify({'status': 'processed'}), 200


# ---- Analytics Service - Track events (the seed's code, plus verify_webhook) ----
app = analytics_service = Flask("analytics_service")


@app.route('/webhooks/events', methods=['POST'])
def handle_analytics_event():
    amebo_client.verify_webhook(request.get_data(), request.headers, ANALYTICS_SERVICE_SECRET)
    event = request.json
    action = event['action']
    payload = event['payload']

    if action == 'user.created':
        track_user_registration(payload)
    elif action == 'order.placed':
        track_order_placement(payload)

    return jsonify({'status': 'tracked'}), 200


def rejected(err):
    return jsonify({'status': 'rejected', 'reason': err.reason}), 401


for service in (email_service, analytics_service):
    service.register_error_handler(amebo_client.WebhookVerificationError, rejected)


# ---- Event Replay (the seed's code; `requests` is the seed's HTTP library, recorded here) ----
replayed: list = []
requests = types.SimpleNamespace(post=lambda url, json: replayed.append((url, json)))


def replay_events_for_service(service_name, from_date, to_date):
    """Replay events for a specific service"""
    events = amebo_client.get_events(
        from_date=from_date,
        to_date=to_date
    )

    for event in events:
        # Send to service webhook
        requests.post(f'https://{service_name}/webhooks/replay', json=event)


class Served:
    """A Flask app on a real server on a free loopback port."""

    def __init__(self, flask_app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, flask_app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def post(self, path: str, body: dict, headers: dict = None) -> tuple:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, json.loads(res.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def close(self) -> None:
        self.server.shutdown()


USER_ENV = {"AMEBO_URL": URL, "AMEBO_APPLICATION": "user-service", "AMEBO_SECRET": "user-service-secret"}
ORDER_ENV = {"AMEBO_URL": URL, "AMEBO_APPLICATION": "order-service", "AMEBO_SECRET": "order-service-secret"}


class SeedFlow(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.served = {name: Served(a) for name, a in {"users": user_service, "orders": order_service, "email": email_service, "analytics": analytics_service}.items()}
        a = admin()
        # The seed's registrations, with the receivers' real addresses and known secrets.
        a.register_application("user-service", cls.served["users"].url, "user-service-secret")
        a.register_application("order-service", cls.served["orders"].url, "order-service-secret")
        a.register_application("email-service", cls.served["email"].url, EMAIL_SERVICE_SECRET)
        a.register_application("analytics-service", cls.served["analytics"].url, ANALYTICS_SERVICE_SECRET)
        a.register_action("user.created", {
            "type": "object",
            "properties": {
                "user_id": {"type": "string"},
                "email": {"type": "string", "format": "email"},
                "name": {"type": "string"},
                "plan": {"type": "string", "enum": ["free", "premium"]},
            },
            "required": ["user_id", "email", "name"],
        }, application="user-service")
        a.register_action("order.placed", {
            "type": "object",
            "properties": {
                "order_id": {"type": "string"},
                "user_id": {"type": "string"},
                "items": {"type": "array"},
                "total": {"type": "number"},
                "currency": {"type": "string"},
            },
            "required": ["order_id", "user_id", "items", "total"],
        }, application="order-service")
        a.subscribe("user.created", "/webhooks/user-created", application="email-service", subscription="welcome-emails")
        a.subscribe("user.created", "/webhooks/events", application="analytics-service", subscription="user-analytics")
        a.subscribe("order.placed", "/webhooks/events", application="analytics-service", subscription="order-analytics")

    @classmethod
    def tearDownClass(cls) -> None:
        for s in cls.served.values():
            s.close()

    def test_user_registration_flow(self) -> None:
        # Create user (the user service runs with its own AMEBO_* environment)
        with mock.patch.dict(os.environ, USER_ENV, clear=True):
            status, user = self.served["users"].post("/users", {"email": "test@example.com", "name": "Test User", "plan": "premium"})
        self.assertEqual(status, 201)

        # Verify email was sent, and analytics tracked it: both handlers verified real webhooks
        eventually(lambda: self.assertIn({"to": "test@example.com", "name": "Test User", "plan": "premium"}, sent_emails))

        def tracked():
            found = [e for e in analytics_events if e["action"] == "user.created" and e["payload"]["user_id"] == user["id"]]
            self.assertEqual(len(found), 1)
            return found[0]

        self.assertEqual(eventually(tracked)["payload"]["email"], "test@example.com")

    def test_order_processing_flow(self) -> None:
        with mock.patch.dict(os.environ, ORDER_ENV, clear=True):
            status, order = self.served["orders"].post("/orders", {"user_id": "user-1", "items": [{"sku": "A", "qty": 2}], "total": "19.90", "currency": "EUR"})
        self.assertEqual(status, 201)

        def placed():
            found = [e for e in analytics_events if e["action"] == "order.placed" and e["payload"]["order_id"] == order["id"]]
            self.assertEqual(len(found), 1)
            return found[0]

        self.assertEqual(eventually(placed)["payload"]["total"], 19.9)

        # amebo records the attempt once the handler's answer is back, a moment after the handler ran.
        def recorded():
            gists = admin().get_gists(subscription="order-analytics", state="delivered")
            self.assertIn(order["id"], [admin().get_event(g["event_id"])["payload"]["order_id"] for g in gists])

        eventually(recorded)

    def test_a_forged_webhook_is_rejected(self) -> None:
        before = len(sent_emails)
        body = {"event_id": 1, "action": "user.created", "payload": {"email": "mallory@example.com", "name": "M"}, "timestamp": "2026-11-24T10:00:00.000Z", "delivery_attempt": 1, "subscription": "welcome-emails"}
        status, answer = self.served["email"].post("/webhooks/user-created", body, {"X-Amebo-Signature": "sha256=00", "webhook-id": "msg_1_1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"})
        self.assertEqual(status, 401)
        self.assertEqual(answer["status"], "rejected")
        self.assertEqual(len(sent_emails), before)

    def test_event_replay(self) -> None:
        with mock.patch.dict(os.environ, USER_ENV, clear=True):
            start = datetime.datetime.utcnow() - datetime.timedelta(seconds=1)
            event = amebo_client.publish_event("user.created", {"user_id": "replay-1", "email": "r@example.com", "name": "R"})
            end = datetime.datetime.utcnow() + datetime.timedelta(seconds=1)
            replayed.clear()
            replay_events_for_service("email.myapp.com", start, end)
        self.assertIn(("https://email.myapp.com/webhooks/replay", event), replayed)
        self.assertTrue(all(e["action"] == "user.created" for _, e in replayed))


if __name__ == "__main__":
    unittest.main()
