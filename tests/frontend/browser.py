"""Headless Chromium driven through ChromeDriver's W3C WebDriver API (plain HTTP and JSON), with no
network beyond loopback: every host name but 127.0.0.1 fails to resolve."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# As root on a closed network (README, "Try it in GraphiQL"); the resolver rule makes the browser offline.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None and shutil.which(CHROMEDRIVER) is not None


class Browser:
    """One WebDriver session."""

    def __init__(self, client: httpx.Client, session_url: str) -> None:
        self.client = client
        self.session_url = session_url

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = self.client.request(method, self.session_url + path, json=payload)
        body = response.json()
        if response.status_code != 200:
            raise AssertionError(f"WebDriver {path}: {body}")
        return body["value"]

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def run(self, script: str) -> Any:
        return self._call("POST", "/execute/sync", {"script": script, "args": []})

    def wait_for(self, script: str, timeout: float = 20.0) -> Any:
        """Runs `script` until it returns something truthy; that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {script}")
            time.sleep(0.1)

    def console(self) -> list[dict[str, Any]]:
        """The browser's console and security messages so far (CSP violations among them)."""
        return list(self._call("POST", "/se/log", {"type": "browser"}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if client.get(f"{base}/status").json()["value"]["ready"]:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("chromedriver did not start")
                time.sleep(0.1)
            options = {"binary": CHROMIUM, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]}
            capabilities = {"browserName": "chrome", "goog:chromeOptions": options, "goog:loggingPrefs": {"browser": "ALL"}}
            session = client.post(f"{base}/session", json={"capabilities": {"alwaysMatch": capabilities}}).json()
            session_id = session["value"]["sessionId"]
            try:
                yield Browser(client, f"{base}/session/{session_id}")
            finally:
                client.delete(f"{base}/session/{session_id}")
    finally:
        driver.terminate()
        driver.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
