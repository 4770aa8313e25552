"""The errors the client raises: one class for every failure the daemon reports, and for a daemon
that cannot be reached."""

from __future__ import annotations

from typing import Any, Mapping, Optional


class AmeboError(Exception):
    """A request to amebo failed.

    ``status`` is the HTTP status (``None`` when no answer came back), ``error_code`` the daemon's
    stable code (``AMEBO_ERR_SCHEMA_INVALID``, ...; ``AMEBO_ERR_UNAVAILABLE`` for an unreachable
    daemon) and ``details`` its particulars: ``violations`` for a 422, ``field`` for a 400, ...
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        error_code: Optional[str] = None,
        details: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.details: dict = dict(details or {})

    def __repr__(self) -> str:
        return f"AmeboError({self.message!r}, status={self.status!r}, error_code={self.error_code!r})"


class WebhookVerificationError(AmeboError):
    """A webhook's signatures or timestamp do not verify (see ``verify_webhook``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"webhook verification failed: {reason}", 401, "AMEBO_ERR_WEBHOOK_VERIFICATION")
        self.reason = reason
