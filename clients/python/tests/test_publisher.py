"""``client.publisher()``: the batching publisher against a real daemon."""

from __future__ import annotations

import threading
import time
import unittest

import amebo_client

from .test_client import Service


class BatchingPublisher(Service):
    def count(self) -> int:
        return len(self.client.get_events(action=self.action))

    def test_futures_resolve_with_the_stored_events_in_publish_order(self) -> None:
        with self.client.publisher(linger_ms=20, max_batch=100) as publisher:
            futures = [publisher.publish(self.action, self.user(n)) for n in range(250)]
            events = [f.result(timeout=30) for f in futures]
        self.assertEqual([e["payload"] for e in events], [self.user(n) for n in range(250)])
        ids = [e["id"] for e in events]
        self.assertEqual(ids, list(range(ids[0], ids[0] + 250)))
        self.assertEqual(self.client.get_event(ids[-1]), events[-1])
        self.assertEqual(self.count(), 250)

    def test_an_invalid_event_fails_only_its_own_future(self) -> None:
        publisher = self.client.publisher(linger_ms=50)
        good = publisher.publish(self.action, self.user(1))
        bad = publisher.publish(self.action, {"user_id": "u2"})
        unknown = publisher.publish(f"{self.app}.no.such.action", {})
        first = publisher.publish(self.action, self.user(3), deduper="once")
        again = publisher.publish(self.action, self.user(4), deduper="once")
        self.assertEqual(good.result(timeout=30)["payload"], self.user(1))
        with self.assertRaises(amebo_client.AmeboError) as caught:
            bad.result(timeout=30)
        self.assertEqual(caught.exception.status, 422)
        self.assertEqual(caught.exception.error_code, "AMEBO_ERR_SCHEMA_INVALID")
        self.assertTrue(caught.exception.details["violations"])
        self.assertEqual(unknown.exception(timeout=30).error_code, "AMEBO_ERR_UNKNOWN_ACTION")
        # A repeated deduper resolves with the original event.
        self.assertEqual(again.result(timeout=30)["id"], first.result(timeout=30)["id"])
        self.assertEqual(again.result()["payload"], self.user(3))
        publisher.close()
        self.assertEqual(self.count(), 2)

    def test_a_lone_event_waits_for_linger_ms_and_a_full_batch_goes_at_once(self) -> None:
        publisher = self.client.publisher(linger_ms=400, max_batch=10)
        lone = publisher.publish(self.action, self.user(1))
        # Still lingering: a timer fires late on a busy machine, never early.
        time.sleep(0.1)
        self.assertEqual(self.count(), 0)
        self.assertEqual(lone.result(timeout=30)["payload"], self.user(1))
        publisher.close()
        # With a linger of ten minutes, only max_batch can send these.
        full = self.client.publisher(linger_ms=600_000, max_batch=10)
        events = [f.result(timeout=30) for f in [full.publish(self.action, self.user(n)) for n in range(10)]]
        self.assertEqual(len(events), 10)
        full.close()

    def test_flush_and_close_wait_for_every_answer(self) -> None:
        publisher = self.client.publisher(linger_ms=600_000, max_batch=1000)
        futures = [publisher.publish(self.action, self.user(n)) for n in range(300)]
        self.assertEqual(publisher.pending, 300)
        self.assertTrue(publisher.flush(timeout=30))
        self.assertTrue(all(f.done() and f.exception() is None for f in futures))
        self.assertEqual(publisher.pending, 0)
        last = publisher.publish(self.action, self.user(300))
        publisher.close()
        self.assertTrue(last.done())
        self.assertEqual(self.count(), 301)
        with self.assertRaises(amebo_client.AmeboError) as caught:
            publisher.publish(self.action, self.user(301))
        self.assertEqual(caught.exception.error_code, "AMEBO_ERR_BAD_REQUEST")
        publisher.close()

    def test_publishes_from_many_threads(self) -> None:
        publisher = self.client.publisher(linger_ms=5, max_batch=64)
        futures: list = []
        lock = threading.Lock()

        def work(t: int) -> None:
            for n in range(100):
                f = publisher.publish(self.action, self.user(t * 1000 + n))
                with lock:
                    futures.append(f)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        publisher.close()
        self.assertEqual(len({f.result()["id"] for f in futures}), 400)
        self.assertEqual(self.count(), 400)

    def test_flush_from_a_done_callback_raises_instead_of_waiting_for_itself(self) -> None:
        publisher = self.client.publisher(linger_ms=1)
        raised: list = []
        done = threading.Event()

        def callback(_future: object) -> None:
            try:
                publisher.flush()
            except RuntimeError as err:
                raised.append(err)
            done.set()

        publisher.publish(self.action, self.user(1)).add_done_callback(callback)
        self.assertTrue(done.wait(30))
        self.assertEqual(len(raised), 1)
        publisher.close()

    def test_a_payload_that_is_not_json_fails_its_future(self) -> None:
        with self.client.publisher() as publisher:
            future = publisher.publish(self.action, {"n": float("nan")})
            self.assertEqual(future.exception(timeout=5).error_code, "AMEBO_ERR_BAD_REQUEST")


class UnreachablePublisher(unittest.TestCase):
    def test_every_future_fails_with_amebo_err_unavailable(self) -> None:
        client = amebo_client.AmeboClient(url="http://127.0.0.1:9", timeout=2)
        with client.publisher(linger_ms=1) as publisher:
            futures = [publisher.publish("x", {}) for _ in range(3)]
        for f in futures:
            error = f.exception(timeout=10)
            self.assertEqual(error.error_code, "AMEBO_ERR_UNAVAILABLE")
            self.assertIn("127.0.0.1:9", error.message)


if __name__ == "__main__":
    unittest.main()
