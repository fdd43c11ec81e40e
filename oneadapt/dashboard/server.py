"""The fleet's live dashboard, served by the fleet coordinator (``oneadapt fleet
--dashboard-port``): one server-rendered page, JSON state, and the streams API.

- ``GET /``: the page. Its first view (budget, rule, streams and their knobs) is rendered
  here, so it says something without JavaScript; its charts are uPlot, vendored from the
  npm package ``uplot`` (``static/``, MIT), so the page works offline.
- ``GET /api/state``: :meth:`Board.snapshot`, polled by the page every second.
- ``POST /api/streams`` with ``{"source": SPEC, "stream_id": ID?}``: a stream joins.
- ``DELETE /api/streams/ID``: a stream leaves after the second it is capturing.

It listens on 127.0.0.1 by default: the streams API opens sources on this machine.
"""

from __future__ import annotations

import html
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import unquote

from oneadapt.errors import OneAdaptError
from oneadapt.fleet.deploy import Board, FleetRunner

STATIC = {
    "/static/uPlot.iife.min.js": "application/javascript",
    "/static/uPlot.min.css": "text/css",
    "/static/dashboard.js": "application/javascript",
}
MAX_BODY = 64 * 1024


def render_page(board: Board) -> str:
    """The page with the fleet as it is now; ``dashboard.js`` takes over from there."""
    state = board.snapshot()
    rows = "".join(
        f"<tr><td>{html.escape(s['stream'])}</td>"
        + "".join(f"<td>{s['knobs'].get(k, '')}</td>" for k in ("qp", "height", "fps"))
        + f"<td>{s['kbps'][-1] if s['kbps'] else 0:.1f}</td></tr>"
        for s in state["streams"]
    )
    template = (files("oneadapt.dashboard") / "static" / "dashboard.html").read_text()
    return (
        template.replace("{{rule}}", html.escape(state["rule"]))
        .replace("{{budget}}", f"{state['budget_kbps']:g}")
        .replace("{{rows}}", rows)
    )


class Handler(BaseHTTPRequestHandler):
    board: Board
    runner: FleetRunner

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fleet's progress goes to the console, not one line per poll."""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: object) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, render_page(self.board).encode(), "text/html; charset=utf-8")
        elif self.path == "/api/state":
            self._json(HTTPStatus.OK, self.board.snapshot())
        elif self.path in STATIC:
            name = self.path.rpartition("/")[2]
            body = (files("oneadapt.dashboard") / "static" / name).read_bytes()
            self._send(HTTPStatus.OK, body, STATIC[self.path])
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        if self.path != "/api/streams":
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "send a JSON body under 64 KiB"})
        try:
            body = json.loads(self.rfile.read(length))
            source = body["source"]
            if not isinstance(source, str):
                raise TypeError("source must be a string")
        except (ValueError, KeyError, TypeError) as exc:
            problem = f'expected {{"source": SPEC, "stream_id": ID?}} ({exc})'
            return self._json(HTTPStatus.BAD_REQUEST, {"error": problem})
        try:
            name = self.runner.add(source, body.get("stream_id"))
        except OneAdaptError as exc:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        self._json(HTTPStatus.CREATED, {"stream": name})

    def do_DELETE(self) -> None:  # noqa: N802
        prefix = "/api/streams/"
        if not self.path.startswith(prefix):
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
        try:
            self.runner.remove(unquote(self.path[len(prefix) :]))
        except OneAdaptError as exc:
            return self._json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        self._json(HTTPStatus.ACCEPTED, {"leaving": True})


def serve_dashboard(
    board: Board, runner: FleetRunner, port: int, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """Start the dashboard on a daemon thread; returns the server (its port: ``server_port``)."""
    handler = type("BoundHandler", (Handler,), {"board": board, "runner": runner})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise OneAdaptError(
            f"the dashboard cannot listen on {host}:{port} ({exc.strerror}).",
            "Choose another --dashboard-port.",
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="dashboard", daemon=True).start()
    return server
