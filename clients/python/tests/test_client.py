"""AmeboClient and the module-level functions against a real amebo daemon."""

from __future__ import annotations

import datetime
import os
import socket
import unittest
from unittest import mock

import amebo_client
from amebo_client.client import _iso

from .support import URL, Receiver, admin, eventually, unique

USER_SCHEMA = {
    "type": "object",
    "properties": {
        "user_id": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "name": {"type": "string"},
        "plan": {"type": "string", "enum": ["free", "premium"]},
    },
    "required": ["user_id", "email", "name"],
}


class Service(unittest.TestCase):
    """Each test gets its own application and action, so tests share the daemon without meeting."""

    def setUp(self) -> None:
        self.app = unique("svc")
        self.secret = unique("secret")
        self.action = f"{self.app}.user.created"
        admin().register_application(self.app, "http://127.0.0.1:9", self.secret)
        self.client = amebo_client.AmeboClient(url=URL, application=self.app, secret=self.secret)
        self.client.register_action(self.action, USER_SCHEMA)

    def user(self, n: int) -> dict:
        return {"user_id": f"u{n}", "email": f"user{n}@example.com", "name": f"User {n}"}


class PublishAndRead(Service):
    def test_publish_event_returns_the_stored_event(self) -> None:
        event = self.client.publish_event(self.action, self.user(1))
        self.assertEqual(event["action"], self.action)
        self.assertEqual(event["payload"], self.user(1))
        self.assertIsInstance(event["id"], int)
        self.assertTrue(event["timestamp"].endswith("Z"))
        self.assertEqual(self.client.get_event(event["id"]), event)

    def test_a_repeated_deduper_returns_the_original_event(self) -> None:
        first = self.client.publish_event(self.action, self.user(1), deduper="signup-1")
        again = self.client.publish_event(self.action, self.user(1), deduper="signup-1")
        self.assertEqual(again["id"], first["id"])
        self.assertEqual(len(self.client.get_events(action=self.action)), 1)

    def test_sleep_until_delays_delivery(self) -> None:
        event = self.client.publish_event(self.action, self.user(1), sleep_until=3600)
        self.assertIsNotNone(event["deliver_after"])

    def test_publish_events_stores_a_batch_in_order(self) -> None:
        stored = self.client.publish_events([{"action": self.action, "payload": self.user(n)} for n in range(3)])
        self.assertEqual([e["payload"]["user_id"] for e in stored], ["u0", "u1", "u2"])
        self.assertEqual([e["id"] for e in stored], sorted(e["id"] for e in stored))

    def test_a_batch_with_one_invalid_event_stores_none(self) -> None:
        with self.assertRaises(amebo_client.AmeboError) as caught:
            self.client.publish_events([{"action": self.action, "payload": self.user(1)}, {"action": self.action, "payload": {"user_id": "x"}}])
        self.assertEqual(caught.exception.status, 422)
        self.assertEqual([r["status"] for r in caught.exception.details["results"]], [424, 422])
        self.assertEqual(self.client.get_events(action=self.action), [])

    def test_get_events_filters_by_dates_of_every_kind(self) -> None:
        before = datetime.datetime.utcnow() - datetime.timedelta(seconds=2)
        first = self.client.publish_event(self.action, self.user(1))
        second = self.client.publish_event(self.action, self.user(2))
        after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
        ids = [first["id"], second["id"]]
        # The seed calls get_events(from_date=..., to_date=...): datetimes (naive is UTC), dates, ISO text.
        self.assertEqual([e["id"] for e in self.client.get_events(from_date=before, to_date=after, action=self.action)], ids)
        self.assertEqual([e["id"] for e in self.client.get_events(from_date=datetime.date.today() - datetime.timedelta(days=1), action=self.action)], ids)
        since = self.client.get_events(from_date=second["timestamp"], action=self.action)
        self.assertIn(second["id"], [e["id"] for e in since])
        self.assertTrue(all(e["timestamp"] >= second["timestamp"] for e in since))
        self.assertEqual(self.client.get_events(to_date=before, action=self.action), [])

    def test_get_events_gathers_every_page_in_log_order(self) -> None:
        stored = self.client.publish_events([{"action": self.action, "payload": self.user(n)} for n in range(2345)])
        events = self.client.get_events(action=self.action)
        self.assertEqual(len(events), 2345)
        self.assertEqual([e["id"] for e in events], [e["id"] for e in stored])


class Errors(Service):
    def test_a_payload_that_fails_the_schema(self) -> None:
        with self.assertRaises(amebo_client.AmeboError) as caught:
            self.client.publish_event(self.action, {"user_id": "u1", "email": "not-an-email", "name": "Ada"})
        err = caught.exception
        self.assertEqual((err.status, err.error_code), (422, "AMEBO_ERR_SCHEMA_INVALID"))
        self.assertEqual([(v["pointer"], v["keyword"]) for v in err.details["violations"]], [("/email", "format")])

    def test_an_unknown_action_and_missing_credentials(self) -> None:
        with self.assertRaises(amebo_client.AmeboError) as caught:
            self.client.publish_event(unique("no.such"), {})
        self.assertEqual((caught.exception.status, caught.exception.error_code), (404, "AMEBO_ERR_UNKNOWN_ACTION"))
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaises(amebo_client.AmeboError) as caught:
                amebo_client.AmeboClient(url=URL).get_events()
        self.assertEqual((caught.exception.status, caught.exception.error_code), (401, "AMEBO_ERR_UNAUTHORIZED"))

    def test_a_secret_acts_only_for_its_application(self) -> None:
        with self.assertRaises(amebo_client.AmeboError) as caught:
            self.client.register_application(unique("spy"), "http://127.0.0.1:9", "spy-secret-123")
        self.assertEqual(caught.exception.status, 403)

    def test_an_unreachable_daemon_names_the_url(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        with self.assertRaises(amebo_client.AmeboError) as caught:
            amebo_client.AmeboClient(url=url).publish_event(self.action, self.user(1))
        self.assertIn(url, str(caught.exception))
        self.assertEqual((caught.exception.status, caught.exception.error_code), (None, "AMEBO_ERR_UNAVAILABLE"))

    def test_an_owner_is_needed_to_register_an_action(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaises(amebo_client.AmeboError) as caught:
                amebo_client.AmeboClient(url=URL, token="x").register_action("a.b", {})
        self.assertIn("AMEBO_APPLICATION", str(caught.exception))

    def test_the_credential_never_shows_in_repr(self) -> None:
        self.assertNotIn(self.secret, repr(self.client))


class ModuleLevel(Service):
    def test_the_module_functions_use_the_environment(self) -> None:
        env = {"AMEBO_URL": URL, "AMEBO_APPLICATION": self.app, "AMEBO_SECRET": self.secret}
        with mock.patch.dict(os.environ, env, clear=True):
            event = amebo_client.publish_event(self.action, self.user(7))
            self.assertEqual(event["payload"]["user_id"], "u7")
            self.assertEqual([e["id"] for e in amebo_client.get_events(action=self.action)], [event["id"]])
            other = unique("act")
            self.assertEqual(amebo_client.register_action(other, True)["application"], self.app)
            self.assertEqual(amebo_client.health()["status"], "ok")
        # The environment is read as it is at each call: a wrong secret now is refused.
        with mock.patch.dict(os.environ, {**env, "AMEBO_SECRET": "wrong-secret-123"}, clear=True):
            with self.assertRaises(amebo_client.AmeboError) as caught:
                amebo_client.publish_event(self.action, self.user(8))
            self.assertEqual(caught.exception.status, 401)


class Deliveries(Service):
    def test_subscribe_deliver_get_gists_and_replay(self) -> None:
        receiver = Receiver()
        self.addCleanup(receiver.close)
        sub = self.client.subscribe(self.action, f"{receiver.url}/hook", subscription=unique("sub"), max_retries=2, timeout="5s")
        self.assertEqual((sub["max_retries"], sub["timeout"]), (2, "5s"))
        event = self.client.publish_event(self.action, self.user(1))

        def delivered() -> list:
            gists = self.client.get_gists(subscription=sub["subscription"], state="delivered")
            self.assertEqual(len(gists), 1)
            return gists

        gist = eventually(delivered)[0]
        self.assertEqual(gist["event_id"], event["id"])
        self.assertEqual(gist["attempts"][0]["status"], 200)
        path, headers, body = receiver.requests[0]
        self.assertEqual(path, "/hook")
        self.assertEqual(amebo_client.verify_webhook(body, headers, self.secret)["event_id"], event["id"])

        self.assertEqual(self.client.replay(subscription=sub["subscription"], dry_run=True)["count"], 1)
        started = self.client.replay(event=event["id"], subscription=sub["subscription"])
        self.assertEqual(started["count"], 1)
        self.assertTrue(started["replay"].startswith("r_"))
        eventually(lambda: self.assertEqual(len(receiver.requests), 2))
        self.assertEqual(self.client.replay_gist(gist["id"])["id"], gist["id"])
        eventually(lambda: self.assertEqual(len(receiver.requests), 3))
        attempts = [amebo_client.verify_webhook(b, h, self.secret)["delivery_attempt"] for _, h, b in receiver.requests]
        self.assertEqual(attempts, [1, 2, 3])

    def test_subscribe_with_routing_and_delivery_control(self) -> None:
        receiver = Receiver()
        self.addCleanup(receiver.close)
        name = unique("premium")
        sub = self.client.subscribe(
            [self.action],
            f"{receiver.url}/premium",
            subscription=name,
            filter={"plan": "premium"},
            headers={"X-Tenant": "acme", "Authorization": "Bearer py-token-123"},
            circuit={"failures": 3, "cooldown": "1m"},
            ordering={"key": "/user_id"},
            rate_limit="100/s",
        )
        self.assertEqual(sub["action"], [self.action])
        self.assertEqual(sub["filter"], {"plan": "premium"})
        self.assertEqual((sub["headers"], sub["sensitive_headers"]), ({"X-Tenant": "acme"}, ["Authorization"]))
        self.assertEqual((sub["circuit"]["failures_to_open"], sub["circuit"]["cooldown"]), (3, "1m"))
        self.assertEqual((sub["ordering"], sub["rate_limit"]), ({"key": "/user_id"}, "100/s"))

        self.assertTrue(self.client.pause_subscription(name)["paused"])
        free = self.client.publish_event(self.action, self.user(1))
        premium = self.client.publish_event(self.action, {**self.user(2), "plan": "premium"})
        # Only the premium event makes a gist; it waits while the subscription is paused.
        gists = eventually(lambda: self._one(self.client.get_gists(subscription=name)))
        self.assertEqual((gists[0]["event_id"], gists[0]["state"]), (premium["id"], "pending"))
        self.assertEqual(receiver.requests, [])
        self.assertEqual(self.client.get_subscription(name)["paused_by"], "api")
        self.assertFalse(self.client.resume_subscription(name)["paused"])
        eventually(lambda: self.assertEqual(len(receiver.requests), 1))
        _, headers, body = receiver.requests[0]
        self.assertEqual(amebo_client.verify_webhook(body, headers, self.secret)["event_id"], premium["id"])
        self.assertEqual({k.lower(): v for k, v in headers.items()}["authorization"], "Bearer py-token-123")
        self.assertNotEqual(free["id"], premium["id"])

        with self.assertRaises(amebo_client.AmeboError) as caught:
            self.client.subscribe(self.action, f"{receiver.url}/x", subscription=unique("bad"), filter={"plan": {"$gt": 5}})
        self.assertEqual(caught.exception.status, 400)
        self.assertIn("filter.plan.$gt", str(caught.exception))

    def _one(self, gists: list) -> list:
        self.assertEqual(len(gists), 1)
        return gists


class Dates(unittest.TestCase):
    def test_times_are_sent_as_utc_iso_8601(self) -> None:
        self.assertEqual(_iso(datetime.datetime(2026, 11, 3, 12, 0, 0, 123456)), "2026-11-03T12:00:00.123Z")
        cet = datetime.timezone(datetime.timedelta(hours=1))
        self.assertEqual(_iso(datetime.datetime(2026, 11, 3, 13, 0, tzinfo=cet)), "2026-11-03T12:00:00.000Z")
        self.assertEqual(_iso(datetime.date(2026, 11, 3)), "2026-11-03T00:00:00.000Z")
        self.assertEqual(_iso("2026-11-03"), "2026-11-03")
        with self.assertRaises(TypeError):
            _iso(1234)  # type: ignore[arg-type]


if __name__ == "__main__":
    unittest.main()
