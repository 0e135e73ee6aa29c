"""Headless Chromium for tests: render an HTML file, dump its DOM after JavaScript ran, take a screenshot.

JavaScript errors are read from Chromium's own log on stderr (``--enable-logging=stderr``): console
messages appear as ``...:CONSOLE...] "message", source: url (line)``, and uncaught exceptions and
unhandled promise rejections start with ``Uncaught``. Chromium logs every console call at the same
level, so a ``console.error`` call cannot be told from ``console.log``: ``console_errors`` holds the
uncaught errors only, ``console_messages`` every console line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
INSTALL_SCRIPT = Path(__file__).with_name("install_chromium.sh")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
)
WINDOW_SIZE = "1400,1000"
CONSOLE_LINE = re.compile(r':CONSOLE[^\]]*\]\s*"(?P<message>.*)", source: (?P<source>.*)$')


@dataclass(frozen=True)
class RenderResult:
    """The DOM after JavaScript ran, the page's uncaught JavaScript errors and all its console lines."""

    dom: str
    console_errors: list[str]
    console_messages: list[str] = field(default_factory=list)


def find_chromium() -> str | None:
    """Debian's ``/usr/bin/chromium``, else ``chromium`` on PATH, else None."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def ensure_chromium(timeout: float = 900) -> tuple[str | None, str]:
    """Chromium's path, installing it with ``install_chromium.sh`` when missing; else (None, why not)."""
    found = find_chromium()
    if found:
        return found, ""
    if os.geteuid() != 0:
        return None, "chromium is not installed and installing it needs root"
    try:
        done = subprocess.run(
            ["sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"installing chromium failed: {err}"
    found = find_chromium()
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, f"installing chromium failed (exit {done.returncode}): {' | '.join(tail)}"
    return found, ""


def console_lines(stderr: str) -> list[str]:
    """The console messages in Chromium's stderr log, as ``message (source)``."""
    out = []
    for line in stderr.splitlines():
        match = CONSOLE_LINE.search(line)
        if match:
            out.append(f"{match['message']} ({match['source']})")
    return out


def javascript_errors(stderr: str) -> list[str]:
    """Uncaught exceptions and unhandled rejections among the console messages of a stderr log."""
    return [line for line in console_lines(stderr) if line.startswith("Uncaught")]


def _run(chromium: str, args: list[str], profile: str, timeout: float) -> subprocess.CompletedProcess:
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"chromium exited with {done.returncode}: {tail}")
    return done


def render(
    html_path: str | os.PathLike, screenshot_path: str | os.PathLike, timeout: float = 120
) -> RenderResult:
    """Render ``html_path`` headless: the DOM after JavaScript ran, a PNG screenshot and its JS errors."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium is not installed (see tests/install_chromium.sh)")
    url = Path(html_path).resolve().as_uri()
    screenshot = Path(screenshot_path).resolve()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mtrl-chromium-") as tmp:
        dump = _run(chromium, ["--dump-dom", url], os.path.join(tmp, "dump"), timeout)
        shot = _run(
            chromium,
            [f"--screenshot={screenshot}", f"--window-size={WINDOW_SIZE}", url],
            os.path.join(tmp, "shot"),
            timeout,
        )
    if not screenshot.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {screenshot}")
    messages = list(dict.fromkeys(console_lines(dump.stderr) + console_lines(shot.stderr)))
    errors = list(dict.fromkeys(javascript_errors(dump.stderr) + javascript_errors(shot.stderr)))
    return RenderResult(dom=dump.stdout, console_errors=errors, console_messages=messages)
