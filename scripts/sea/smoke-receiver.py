"""Webhook receiver for scripts/smoke-bin.sh.

It runs on python3, not Node, because the smoke test proves that dist/amebo needs no Node. Each POST is
recorded as one JSON line in the output file, with whether its X-Amebo-Signature (sha256=<hex HMAC-SHA256
of the raw body>) matches the secret. It answers 200 and stops by itself after --lifetime seconds.

usage: smoke-receiver.py SECRET PORT_FILE OUT_FILE [--lifetime SECONDS]
"""
import hashlib
import hmac
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    secret, port_file, out_file = sys.argv[1:4]
    lifetime = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--lifetime" else 600.0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            signature = self.headers.get("X-Amebo-Signature") or ""
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            record = {
                "path": self.path,
                "signature_valid": hmac.compare_digest(signature, expected),
                "event": self.headers.get("X-Amebo-Event"),
                "body": parsed,
            }
            with lock, open(out_file, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    # Renamed into place so the smoke test never reads a half-written port.
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
