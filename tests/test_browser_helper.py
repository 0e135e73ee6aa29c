"""The headless-Chromium helper renders after JavaScript ran, screenshots and reports JS errors."""

from __future__ import annotations

import pytest

from browser import console_lines, ensure_chromium, javascript_errors, render

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

PAGE = """<!doctype html>
<html><body>
<div id="out">static text</div>
<script>document.getElementById("out").textContent = "set-by-" + "javascript";</script>
</body></html>
"""

BROKEN = """<!doctype html>
<html><body>
<div id="out">static text</div>
<script>throw new Error("boom");</script>
</body></html>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path, why = ensure_chromium()
    if path is None:
        pytest.skip(f"no headless browser: {why}")
    return path


def test_render_runs_javascript_and_takes_a_screenshot(chromium, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    result = render(page, tmp_path / "shots" / "page.png")
    # The joined string exists only after the script ran: the HTML source holds it in two halves.
    assert '<div id="out">set-by-javascript</div>' in result.dom
    assert "static text" not in result.dom
    shot = (tmp_path / "shots" / "page.png").read_bytes()
    assert shot.startswith(PNG_MAGIC)
    assert len(shot) > 1000
    assert result.console_errors == []


def test_render_reports_an_uncaught_javascript_error(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(BROKEN)
    result = render(page, tmp_path / "broken.png")
    assert len(result.console_errors) == 1
    assert "Uncaught Error: boom" in result.console_errors[0]
    assert "broken.html" in result.console_errors[0]
    assert (tmp_path / "broken.png").read_bytes().startswith(PNG_MAGIC)


def test_console_log_parsing_separates_uncaught_errors_from_messages():
    prefix = "[1:1:1127/061706.284731:INFO:"
    stderr = "\n".join(
        [
            "[1:1:1127/061705.761109:ERROR:dbus/bus.cc:405] Failed to connect to the bus",
            prefix + 'CONSOLE:1] "plain log", source: file:///p.html (1)',
            prefix + 'CONSOLE(7)] "Uncaught TypeError: x is undefined", source: file:///p.html (7)',
            prefix + 'CONSOLE:3] "Uncaught (in promise) Error: rej", source: file:///p.html (3)',
        ]
    )
    assert console_lines(stderr) == [
        "plain log (file:///p.html (1))",
        "Uncaught TypeError: x is undefined (file:///p.html (7))",
        "Uncaught (in promise) Error: rej (file:///p.html (3))",
    ]
    assert javascript_errors(stderr) == console_lines(stderr)[1:]
