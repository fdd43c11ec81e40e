"""A real headless Chromium driven over the DevTools protocol (``websocket-client``): load
a page, evaluate JavaScript in it, take a screenshot. Tests skip with a message where
Chromium or websocket-client is absent (``.ci/run`` installs both)."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    """The browser's path; skips the test when there is none."""
    found = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    if found is None:
        pytest.skip("Chromium not found (Debian: apt-get install -y chromium)")
    pytest.importorskip("websocket", reason="websocket-client not installed (pip install .[test])")
    return found


class Page:
    """One tab, commanded through its DevTools websocket."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.ids = itertools.count(1)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:  # events arrive between the answers; only ours matters
            message = json.loads(self.socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float) -> Any:
        """Poll ``expression`` until it is truthy; its value, or AssertionError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"not true within {timeout} s: {expression}")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))


@contextmanager
def browser(url: str, size: tuple[int, int] = (1400, 1900)) -> Iterator[Page]:
    """Headless Chromium showing ``url``. Chromium runs in its own process group, all of which
    is ended afterwards; its helpers may still write to the profile as they exit (CI once
    failed removing it: "Directory not empty"), so what they leave is not an error."""
    import websocket

    binary = chromium_path()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--remote-debugging-port=0", "--remote-allow-origins=*",
                f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("Chromium did not open its DevTools port")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            tab = next(t for t in targets if t["type"] == "page")
            socket = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=30)
            page = Page(socket)
            page.send("Page.enable")
            page.send("Page.navigate", url=url)
            yield page
            socket.close()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
