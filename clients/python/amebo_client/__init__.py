"""amebo_client: the Python client of amebo, the self-hosted HTTP event bus.

Standard library only, Python 3.9+. The module-level functions use a default client configured from
the environment (``AMEBO_URL``, ``AMEBO_APPLICATION``, ``AMEBO_SECRET``, ``AMEBO_TOKEN``), so the code
of Amebo's microservices example runs as written::

    import amebo_client

    amebo_client.publish_event('user.created', {'user_id': 'u1', 'email': 'ada@example.com', 'name': 'Ada'})
    events = amebo_client.get_events(from_date=yesterday, to_date=today)

In a webhook handler, ``verify_webhook(request.get_data(), request.headers, secret)`` checks the
signatures and returns the event. ``AmeboClient`` is the same with explicit settings.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

from .client import DEFAULT_URL, AmeboClient, TimeInput
from .errors import AmeboError, WebhookVerificationError
from .publisher import Publisher
from .webhooks import TOLERANCE_SECONDS, verify_webhook

__all__ = [
    "AmeboClient",
    "AmeboError",
    "Publisher",
    "WebhookVerificationError",
    "verify_webhook",
    "publish_event",
    "publish_events",
    "get_events",
    "get_event",
    "register_application",
    "register_action",
    "subscribe",
    "get_gists",
    "replay",
    "replay_gist",
    "health",
    "default_client",
    "DEFAULT_URL",
    "TOLERANCE_SECONDS",
]

__version__ = "0.1.0"

_ENV = ("AMEBO_URL", "AMEBO_APPLICATION", "AMEBO_SECRET", "AMEBO_TOKEN")
_default: Optional[Tuple[Tuple[Optional[str], ...], AmeboClient]] = None


def default_client() -> AmeboClient:
    """The client the module-level functions use, configured from the environment as it is now."""
    global _default
    key = tuple(os.environ.get(name) for name in _ENV)
    if _default is None or _default[0] != key:
        _default = (key, AmeboClient())
    return _default[1]


def publish_event(action: str, payload: Any, deduper: Optional[str] = None, sleep_until: Optional[float] = None) -> dict:
    """``AmeboClient.publish_event`` on the default client."""
    return default_client().publish_event(action, payload, deduper=deduper, sleep_until=sleep_until)


def publish_events(events: Iterable[Mapping[str, Any]]) -> List[dict]:
    """``AmeboClient.publish_events`` on the default client."""
    return default_client().publish_events(events)


def get_events(from_date: Optional[TimeInput] = None, to_date: Optional[TimeInput] = None, action: Optional[str] = None) -> List[dict]:
    """``AmeboClient.get_events`` on the default client."""
    return default_client().get_events(from_date=from_date, to_date=to_date, action=action)


def get_event(event_id: int) -> dict:
    """``AmeboClient.get_event`` on the default client."""
    return default_client().get_event(event_id)


def register_application(application: str, address: str, secret: str) -> dict:
    """``AmeboClient.register_application`` on the default client."""
    return default_client().register_application(application, address, secret)


def register_action(action: str, schemata: Union[Mapping[str, Any], bool, str], application: Optional[str] = None) -> dict:
    """``AmeboClient.register_action`` on the default client."""
    return default_client().register_action(action, schemata, application=application)


def subscribe(
    action: str,
    handler: str,
    application: Optional[str] = None,
    subscription: Optional[str] = None,
    max_retries: Optional[int] = None,
    timeout: Optional[str] = None,
) -> dict:
    """``AmeboClient.subscribe`` on the default client."""
    return default_client().subscribe(action, handler, application=application, subscription=subscription, max_retries=max_retries, timeout=timeout)


def get_gists(subscription: Optional[str] = None, event: Optional[int] = None, state: Optional[str] = None) -> List[dict]:
    """``AmeboClient.get_gists`` on the default client."""
    return default_client().get_gists(subscription=subscription, event=event, state=state)


def replay(
    from_date: Optional[TimeInput] = None,
    to_date: Optional[TimeInput] = None,
    action: Optional[str] = None,
    subscription: Optional[str] = None,
    event: Optional[int] = None,
    failed: bool = False,
    dry_run: bool = False,
) -> dict:
    """``AmeboClient.replay`` on the default client."""
    return default_client().replay(from_date, to_date, action=action, subscription=subscription, event=event, failed=failed, dry_run=dry_run)


def replay_gist(gist_id: Union[int, str]) -> dict:
    """``AmeboClient.replay_gist`` on the default client."""
    return default_client().replay_gist(gist_id)


def health() -> dict:
    """``AmeboClient.health`` on the default client."""
    return default_client().health()
