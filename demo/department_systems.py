"""A stand-in for the departments' own systems: a real local HTTP server that accepts pushed applications.

Departments' systems are the edge we do not own; the demo, the benchmark and the tests point
ONELICENSE_DEPARTMENT_ENDPOINTS at this server to exercise the real httpx push (latency and failures
configurable). Not used in production.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class DepartmentSystems:
    """Received pushes per department; `fail` makes the named departments answer 503."""

    latency: float = 0.0
    fail: set[str] = field(default_factory=set)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> DepartmentSystems:
        systems = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                department = self.path.strip("/").split("/")[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(systems.latency)
                if department in systems.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                with systems.lock:
                    key = self.headers.get("Idempotency-Key", "")
                    if key not in systems.keys:  # a repeated push is acknowledged, not stored twice
                        systems.keys.add(key)
                        systems.received.setdefault(department, []).append(json.loads(body))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="department-systems").start()
        return self

    def endpoints(self, department_codes: list[str]) -> dict[str, str]:
        assert self.server is not None
        host, port = str(self.server.server_address[0]), self.server.server_address[1]
        return {code: f"http://{host}:{port}/departments/{code}" for code in department_codes}

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
