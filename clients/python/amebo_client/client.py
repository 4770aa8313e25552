"""``AmeboClient``: amebo's HTTP API over the standard library (urllib), one method per thing a
service does. Answers are plain dicts shaped as the API's ``data`` (see ``/openapi.json``)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from .errors import AmeboError
from .publisher import Publisher

#: ``amebo serve``'s default listen address.
DEFAULT_URL = "http://127.0.0.1:3310"

#: A time for a filter: a ``datetime`` (naive means UTC, as ``datetime.utcnow()`` gives), a ``date``
#: (its midnight, UTC) or ISO 8601 text, sent as is.
TimeInput = Union[_dt.datetime, _dt.date, str]

_PAGE = 1000


def _iso(value: Optional[TimeInput]) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        # Milliseconds: the log's resolution, and what every ISO 8601 parser reads.
        return value.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (value.microsecond // 1000)
    if isinstance(value, _dt.date):
        return value.isoformat() + "T00:00:00.000Z"
    raise TypeError(f"expected a datetime, a date or an ISO 8601 string, not {type(value).__name__}")


def _compact(mapping: Mapping[str, Any]) -> Dict[str, Any]:
    """Leaves out the keys whose value is None: the API refuses keys it does not define, not absent ones."""
    return {k: v for k, v in mapping.items() if v is not None}


class AmeboClient:
    """A client of one amebo daemon.

    Every argument is optional and defaults to the environment: ``AMEBO_URL`` (else
    ``http://127.0.0.1:3310``), ``AMEBO_APPLICATION`` (the application this client acts for, the
    default owner in ``register_action`` and ``subscribe``), ``AMEBO_SECRET`` (that application's
    secret) and ``AMEBO_TOKEN`` (the admin token, which wins over the secret). Credentials are sent as
    ``Authorization: Bearer``. ``timeout`` is in seconds.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        application: Optional[str] = None,
        secret: Optional[str] = None,
        token: Optional[str] = None,
        timeout: float = 10.0,
    ) -> None:
        env = os.environ
        self.url = (url or env.get("AMEBO_URL") or DEFAULT_URL).rstrip("/")
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise AmeboError(f"{self.url!r} is not an http(s) URL of an amebo daemon", None, "AMEBO_ERR_BAD_REQUEST")
        self.application = application or env.get("AMEBO_APPLICATION") or None
        self._credential = token or secret or env.get("AMEBO_TOKEN") or env.get("AMEBO_SECRET") or None
        self.timeout = timeout

    def __repr__(self) -> str:
        # Never the credential.
        return f"AmeboClient(url={self.url!r}, application={self.application!r})"

    # -- transport -----------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None, query: Optional[Mapping[str, Any]] = None) -> Any:
        url = self.url + path
        if query:
            params = {k: ("true" if v is True else str(v)) for k, v in query.items() if v is not None and v is not False and v != ""}
            if params:
                url += "?" + urllib.parse.urlencode(params)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._credential:
            headers["Authorization"] = f"Bearer {self._credential}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            raise self._error_from(err) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, ConnectionRefusedError):
                reason = "connection refused (is `amebo serve` running?)"
            raise AmeboError(f"cannot reach amebo at {self.url}: {reason}", None, "AMEBO_ERR_UNAVAILABLE") from None
        return json.loads(text) if text else None

    @staticmethod
    def _error_from(err: urllib.error.HTTPError) -> AmeboError:
        return AmeboClient._error_from_text(err.code, err.read().decode("utf-8", "replace"))

    @staticmethod
    def _error_from_text(status: int, text: str) -> AmeboError:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            details = body.get("details") if isinstance(body.get("details"), dict) else {}
            return AmeboError(body["error"], status, body.get("error_code"), details)
        return AmeboError(f"HTTP {status}: {text.strip()[:200]}", status, None, {})

    def _data(self, method: str, path: str, body: Any = None, query: Optional[Mapping[str, Any]] = None) -> Any:
        answer = self._request(method, path, body, query)
        if not isinstance(answer, dict) or "data" not in answer:
            raise AmeboError(f"{self.url} answered without a \"data\" field; is it amebo?", None, "AMEBO_ERR_INTERNAL")
        return answer["data"]

    def _gather(self, path: str, query: Mapping[str, Any]) -> List[dict]:
        items: List[dict] = []
        page = 1
        while True:
            answer = self._request("GET", path, None, {**query, "page": page, "per_page": _PAGE})
            data, meta = answer["data"], answer["meta"]
            items.extend(data)
            if len(data) < meta["per_page"] or len(items) >= meta["total"]:
                return items
            page += 1

    def _owner(self, application: Optional[str], method: str) -> str:
        owner = application or self.application
        if not owner:
            raise AmeboError(f"{method} needs an application: pass one, or set AMEBO_APPLICATION", None, "AMEBO_ERR_BAD_REQUEST")
        return owner

    # -- events --------------------------------------------------------------------------------

    def publish_event(self, action: str, payload: Any, deduper: Optional[str] = None, sleep_until: Optional[float] = None) -> dict:
        """Publishes one event and returns it as stored (``id``, ``action``, ``payload``, ``timestamp``, ...),
        once it is committed to the log. Repeating a ``deduper`` returns the original event.
        ``sleep_until`` delays the first delivery by that many seconds."""
        return self._data("POST", "/v1/events", _compact({"action": action, "payload": payload, "deduper": deduper, "sleep_until": sleep_until}))

    def publish_events(self, events: Iterable[Mapping[str, Any]]) -> List[dict]:
        """Publishes events (dicts with ``action``, ``payload`` and optionally ``deduper``, ``sleep_until``)
        all together or none, and returns them as stored, in order."""
        items = [_compact(e) for e in events]
        return [result["data"] for result in self._data("POST", "/v1/events/batch", {"events": items})]

    def publisher(self, linger_ms: float = 5, max_batch: int = 500) -> Publisher:
        """A batching publisher (``POST /v1/events/stream``): its ``publish()`` returns a
        ``concurrent.futures.Future`` of the stored event; events go out together after ``linger_ms``
        or once ``max_batch`` are queued; ``flush()`` and ``close()`` wait for every answer. The
        fastest way to publish many events."""
        return Publisher(self, linger_ms=linger_ms, max_batch=max_batch)

    def get_events(self, from_date: Optional[TimeInput] = None, to_date: Optional[TimeInput] = None, action: Optional[str] = None) -> List[dict]:
        """Every event that matches, over all pages, in log order. Both dates are inclusive."""
        return self._gather("/v1/events", {"from": _iso(from_date), "to": _iso(to_date), "action": action})

    def get_event(self, event_id: int) -> dict:
        """One event by id."""
        return self._data("GET", f"/v1/events/{int(event_id)}")

    # -- applications, actions, subscriptions ----------------------------------------------------

    def register_application(self, application: str, address: str, secret: str) -> dict:
        """Registers an application (admin token only). Its secret signs its webhooks and is never returned."""
        return self._data("POST", "/v1/applications", {"application": application, "address": address, "secret": secret})

    def register_action(self, action: str, schemata: Union[Mapping[str, Any], bool, str], application: Optional[str] = None) -> dict:
        """Defines an action and the JSON Schema of its payloads, owned by ``application`` (default: this client's)."""
        return self._data("POST", "/v1/actions", {"action": action, "application": self._owner(application, "register_action"), "schemata": schemata})

    def subscribe(
        self,
        action: Union[str, List[str]],
        handler: str,
        application: Optional[str] = None,
        subscription: Optional[str] = None,
        max_retries: Optional[int] = None,
        timeout: Optional[str] = None,
        *,
        concurrency: Optional[int] = None,
        retry_4xx: Optional[bool] = None,
        filter: Optional[Mapping[str, Any]] = None,
        headers: Optional[Mapping[str, str]] = None,
        paused: Optional[bool] = None,
        circuit: Union[Mapping[str, Any], bool, None] = None,
        ordering: Union[str, Mapping[str, str], None] = None,
        rate_limit: Optional[str] = None,
    ) -> dict:
        """Subscribes ``application``'s (default: this client's) webhook ``handler`` (a URL, or a ``/path``
        joined to the application's address) to ``action``: one name, a pattern (``"user.*"``,
        ``"order.>"``) or a list of them. ``timeout`` is a duration such as ``"10s"``. The routing and
        delivery-control keys are the API's: ``filter={"total": {"$gte": 100}}``,
        ``headers={"X-Tenant": "acme"}``, ``paused=True``, ``circuit={"failures": 5, "cooldown": "1m"}``
        (or ``False``), ``ordering={"key": "/account_id"}`` (or ``"strict"``), ``rate_limit="50/s"``."""
        body = {
            "application": self._owner(application, "subscribe"),
            "action": action,
            "handler": handler,
            "subscription": subscription,
            "max_retries": max_retries,
            "timeout": timeout,
            "concurrency": concurrency,
            "retry_4xx": retry_4xx,
            "filter": filter,
            "headers": headers,
            "paused": paused,
            "circuit": circuit,
            "ordering": ordering,
            "rate_limit": rate_limit,
        }
        return self._data("POST", "/v1/subscriptions", _compact(body))

    # -- deliveries --------------------------------------------------------------------------

    def get_gists(self, subscription: Optional[str] = None, event: Optional[int] = None, state: Optional[str] = None) -> List[dict]:
        """Every gist (one event on its way to one subscription, with its attempts) that matches, over all
        pages. ``state`` is ``pending``, ``delivered``, ``failed`` or ``dead``."""
        return self._gather("/v1/gists", {"subscription": subscription, "event": event, "state": state})

    def replay(
        self,
        from_date: Optional[TimeInput] = None,
        to_date: Optional[TimeInput] = None,
        action: Optional[str] = None,
        subscription: Optional[str] = None,
        event: Optional[int] = None,
        failed: bool = False,
        dry_run: bool = False,
    ) -> dict:
        """Delivers past events again: ``{"replay": id, "count": n}``. ``failed`` takes only dead or failed
        gists; ``dry_run`` only counts."""
        body = {
            "from": _iso(from_date),
            "to": _iso(to_date),
            "action": action,
            "subscription": subscription,
            "event": event,
            "failed": failed or None,
            "dry_run": dry_run or None,
        }
        return self._data("POST", "/v1/replays", _compact(body))

    def pause_subscription(self, subscription: str) -> dict:
        """``POST /v1/subscriptions/:id/pause``: gists are still made; nothing is sent until resumed."""
        return self._data("POST", f"/v1/subscriptions/{urllib.parse.quote(subscription, safe='')}/pause")

    def resume_subscription(self, subscription: str) -> dict:
        """``POST /v1/subscriptions/:id/resume``: everything the subscription holds is delivered."""
        return self._data("POST", f"/v1/subscriptions/{urllib.parse.quote(subscription, safe='')}/resume")

    def get_subscription(self, subscription: str) -> dict:
        """``GET /v1/subscriptions/:id``, with ``paused``, ``paused_by`` and ``circuit``."""
        return self._data("GET", f"/v1/subscriptions/{urllib.parse.quote(subscription, safe='')}")

    def replay_gist(self, gist_id: Union[int, str]) -> dict:
        """Delivers one gist again now; returns the gist. Gist ids are opaque: numbers on the LMDB
        engine, strings such as ``"42.welcome-emails"`` on NATS JetStream; pass one back as received."""
        return self._data("POST", f"/v1/gists/{urllib.parse.quote(str(gist_id), safe='')}/replay")

    def health(self) -> dict:
        """``GET /health``: ``status``, the config in force and its last reload error, backlog."""
        return self._data("GET", "/health")
