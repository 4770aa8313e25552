"""What the tests share: the daemon under test (started by test/integration/client-python.test.ts,
which passes its URL and admin token), unique names, polling, and a real HTTP receiver."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
import uuid
from typing import Callable, List, Tuple, TypeVar

import amebo_client

URL = os.environ["AMEBO_TEST_URL"]
ADMIN_TOKEN = os.environ["AMEBO_TEST_ADMIN_TOKEN"]

T = TypeVar("T")


def admin() -> amebo_client.AmeboClient:
    return amebo_client.AmeboClient(url=URL, token=ADMIN_TOKEN)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def eventually(check: Callable[[], T], timeout: float = 15.0) -> T:
    """Calls ``check`` until it stops raising AssertionError, then returns its value; re-raises after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Receiver:
    """A real HTTP server on a free loopback port that records each request's path, headers and raw body."""

    def __init__(self, status: int = 200) -> None:
        self.requests: List[Tuple[str, dict, bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append((self.path, dict(self.headers.items()), body))
                reply = json.dumps({"status": "ok"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
