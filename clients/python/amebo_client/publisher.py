"""``Publisher``: publishes events in batches, as Kafka's producers do.

``publish()`` queues one event and returns a ``concurrent.futures.Future`` of the stored event. A
background thread sends the queued events together once ``linger_ms`` has passed since the oldest of
them, or as soon as ``max_batch`` are queued, as one ``POST /v1/events/stream`` request; each answer
line settles its event's future as the daemon's commits land. An invalid event fails only its own
future. Batches go one after another, so events are stored in the order they were published.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from .errors import AmeboError

if TYPE_CHECKING:  # pragma: no cover
    from .client import AmeboClient

_Queued = Tuple[float, bytes, "Future[dict]"]


class Publisher:
    """A batching publisher of one client. Get one with ``client.publisher(linger_ms=5, max_batch=500)``.

    Thread-safe: any thread may publish. ``flush()`` waits until every event published so far is
    answered; ``close()`` flushes, stops the thread and refuses further events. It is also a context
    manager that closes on exit.
    """

    def __init__(self, client: "AmeboClient", linger_ms: float = 5, max_batch: int = 500) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._client = client
        self._linger = max(0.0, float(linger_ms)) / 1000.0
        self._max_batch = int(max_batch)
        parts = urllib.parse.urlsplit(client.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/v1/events/stream"
        self._cond = threading.Condition()
        self._queue: List[_Queued] = []
        self._sending = 0
        self._flushes = 0
        self._closed = False
        self._conn: Optional[http.client.HTTPConnection] = None
        self._thread = threading.Thread(target=self._run, name="amebo-publisher", daemon=True)
        self._thread.start()

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Events queued or sent and not yet answered."""
        with self._cond:
            return len(self._queue) + self._sending

    def publish(self, action: str, payload: Any, deduper: Optional[str] = None, sleep_until: Optional[float] = None) -> "Future[dict]":
        """Queues one event. The future's ``result()`` is the stored event (for a repeated ``deduper``,
        the original one); its exception is an ``AmeboError`` for this event alone (``status`` 422 for
        a payload that fails the schema, ...), or ``AMEBO_ERR_UNAVAILABLE`` when the daemon could not
        be reached: then the event may or may not be stored, and publishing it again with a deduper is
        safe."""
        event = {"action": action, "payload": payload}
        if deduper is not None:
            event["deduper"] = deduper
        if sleep_until is not None:
            event["sleep_until"] = sleep_until
        future: "Future[dict]" = Future()
        try:
            line = json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as err:
            future.set_exception(AmeboError(f"the payload cannot be sent as JSON: {err}", None, "AMEBO_ERR_BAD_REQUEST"))
            return future
        with self._cond:
            if self._closed:
                raise AmeboError("the publisher is closed", None, "AMEBO_ERR_BAD_REQUEST")
            self._queue.append((time.monotonic(), line, future))
            self._cond.notify_all()
        return future

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sends everything queued now and waits until every event published so far is answered.
        Returns False if ``timeout`` (seconds) passed first."""
        self._not_from_own_thread("flush")
        with self._cond:
            self._flushes += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._queue and self._sending == 0, timeout)
            finally:
                self._flushes -= 1

    def close(self, timeout: Optional[float] = None) -> None:
        """Flushes, then stops the thread; later ``publish()`` calls raise. Safe to call twice."""
        self._not_from_own_thread("close")
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _not_from_own_thread(self, what: str) -> None:
        # A future's done-callback runs on the sending thread: waiting there would wait for itself.
        if threading.current_thread() is self._thread:
            raise RuntimeError(f"{what}() cannot be called from a future's callback (it runs on the publisher's thread)")

    # -- the sending thread ---------------------------------------------------------------------

    def _next_batch(self) -> Optional[List[_Queued]]:
        with self._cond:
            while True:
                if self._queue:
                    due = self._queue[0][0] + self._linger
                    if len(self._queue) >= self._max_batch or self._flushes or self._closed or time.monotonic() >= due:
                        batch = self._queue[: self._max_batch]
                        del self._queue[: self._max_batch]
                        self._sending = len(batch)
                        return batch
                    self._cond.wait(max(0.0, due - time.monotonic()))
                elif self._closed:
                    return None
                else:
                    self._cond.wait()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._send(batch)
            finally:
                with self._cond:
                    self._sending = 0
                    self._cond.notify_all()

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._client.timeout)
        return self._conn

    def _send(self, batch: List[_Queued]) -> None:
        body = b"\n".join(line for _, line, _ in batch) + b"\n"
        headers = {"Content-Type": "application/x-ndjson", "Accept": "application/x-ndjson", "Content-Length": str(len(body))}
        if self._client._credential:
            headers["Authorization"] = f"Bearer {self._client._credential}"
        answered = 0
        try:
            conn = self._connection()
            conn.request("POST", self._path, body=body, headers=headers)
            response = conn.getresponse()
            if response.status != 200:
                error = self._client._error_from_text(response.status, response.read().decode("utf-8", "replace"))
                _fail(batch, 0, error)
                return
            while answered < len(batch):
                raw = response.readline()
                if not raw:
                    break
                raw = raw.strip()
                if raw:
                    _settle(batch[answered][2], json.loads(raw.decode("utf-8")))
                    answered += 1
            response.read()
            if answered < len(batch):
                _fail(batch, answered, AmeboError(f"amebo at {self._client.url} ended the stream before answering {len(batch) - answered} events; they may or may not be stored", None, "AMEBO_ERR_UNAVAILABLE"))
        except (OSError, http.client.HTTPException, ValueError) as err:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            reason = "connection refused (is `amebo serve` running?)" if isinstance(err, ConnectionRefusedError) else err
            _fail(batch, answered, AmeboError(f"cannot reach amebo at {self._client.url}: {reason}", None, "AMEBO_ERR_UNAVAILABLE"))


def _settle(future: "Future[dict]", answer: Any) -> None:
    try:
        if isinstance(answer, dict) and "data" in answer:
            future.set_result(answer["data"])
        elif isinstance(answer, dict):
            details = answer.get("details") if isinstance(answer.get("details"), dict) else {}
            future.set_exception(AmeboError(str(answer.get("error", "rejected")), answer.get("code"), answer.get("error_code"), details))
        else:
            future.set_exception(AmeboError(f"amebo answered a line that is not an answer: {answer!r}"[:300], None, "AMEBO_ERR_INTERNAL"))
    except InvalidStateError:
        pass  # cancelled by its caller


def _fail(batch: List[_Queued], start: int, error: AmeboError) -> None:
    for _, _, future in batch[start:]:
        try:
            future.set_exception(error)
        except InvalidStateError:
            pass
