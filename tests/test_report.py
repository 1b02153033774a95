"""The HTML report: content and self-containment of the page, atomic writing, errors of
`dmmemu report`, and rendering in headless Chromium.

The browser test drives Debian's ``chromium`` over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: the browser reads commands on fd 3 and writes replies and
events on fd 4, JSON messages ending in a NUL byte), so it needs no extra Python package
and no debugging port. It records every console message of level error, every uncaught
exception, every browser log entry of level error and every network request that is not
``file:``/``data:``; waits until each chart's div holds a drawn plotly SVG with traces; and
saves a full-page screenshot under the test's temporary directory.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
import pytest
from click.testing import CliRunner

import dmmemu
from dmmemu.cli.report import report_command
from dmmemu.report.html import CHART_IDS, write_report
from dmmemu.results.analysis import ResultsError, combine_results
from dmmemu.synthetic.generator import SyntheticTrace

WINDOW = (1400, 1000)

# Per chart: text its axis titles must contain (units).
AXIS_UNITS = {
    "chart-stretch": ("path stretch (×", "share of delivered packets"),
    "chart-interruption": ("handover interruption (ms)", "share of handovers"),
    "chart-overhead": ("bytes",),
    "chart-signaling": ("signaling messages",),
    "chart-anchor-load": ("time from trace start (s)", "packets/s"),
}


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> dmmemu.Trace:
    path = SyntheticTrace(mns=20, packets=20_000, seed=1).generate(
        tmp_path_factory.mktemp("report") / "t20")
    return dmmemu.Trace.open(path)


@pytest.fixture(scope="module")
def results_dir(trace: dmmemu.Trace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every registered practice, one sub-directory each (as `dmmemu run -p ... -p ...`)."""
    root = tmp_path_factory.mktemp("results")
    for key in dmmemu.PRACTICES:
        dmmemu.run(trace, key).write(root / key)
    return root


@pytest.fixture(scope="module")
def report(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(results_dir, tmp_path_factory.mktemp("html") / "report.html")


# ------------------------------------------------------------------------- the page

def test_report_is_self_contained(report: Path) -> None:
    import plotly.offline

    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # plotly.js inlined exactly once, no script or stylesheet fetched from anywhere.
    assert page.count(plotly.offline.get_plotlyjs()) == 1
    tags = re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*>", page, flags=re.IGNORECASE)
    external = [t for t in tags if re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
                                              t, flags=re.IGNORECASE)]
    assert external == []
    assert all("src=" not in t for t in re.findall(r"<script\b[^>]*>", page, flags=re.IGNORECASE))


def test_report_sections_and_charts(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    for heading in ("Comparison", "Path stretch", "Handover interruption", "Overhead",
                    "Signaling", "Anchor load over time", "Gap table", "Run metadata"):
        assert f"<h2>{heading}</h2>" in page
    for chart in CHART_IDS:
        assert page.count(f'id="{chart}"') == 1, chart
    # Axis titles carry units (in the figures' JSON, where "×" and "/" are escaped; the
    # browser test reads them from the drawn charts).
    figures = page.replace("\\u00d7", "×").replace("\\u002f", "/")
    for titles in AXIS_UNITS.values():
        for title in titles:
            assert title in figures, title
    # The gap table is a placeholder, not data.
    gap = page.split('id="gap-table"')[1].split("</section>")[0]
    assert "Not computed yet" in gap and "<table" not in gap


def test_report_comparison_and_metadata(report: Path, results_dir: Path) -> None:
    page = report.read_text(encoding="utf-8")
    comparison = page.split('id="comparison"')[1].split("</table>")[0]
    assert comparison.count("<tr>") == len(dmmemu.PRACTICES) + 1
    for header in ("mean stretch (×)", "mean interruption (ms)", "tunnel overhead (bytes)"):
        assert header in comparison
    summary = pl.read_parquet(results_dir / "dmm" / "summary.parquet")
    assert f"{summary['packets'][0]:,}" in comparison
    metadata = page.split('id="metadata"')[1].split("</table>")[0]
    for key in dmmemu.PRACTICES:
        assert f">{key}<" in metadata
    assert f">{dmmemu.__version__}<" in metadata and ">core<" in metadata and ">1<" in metadata
    assert "lifetime_s = 60.0" in metadata and "l2_attach_ms = 651.0" in metadata


def test_report_from_tables_in_memory(trace: dmmemu.Trace, tmp_path: Path) -> None:
    tables = combine_results([dmmemu.run(trace, "pmipv6"), dmmemu.run(trace, "dmm")])
    out = write_report(tables, tmp_path / "nested" / "r.html", title="Two <runs>")
    page = out.read_text(encoding="utf-8")
    assert "<title>Two &lt;runs&gt;</title>" in page
    for chart in CHART_IDS:
        assert f'id="{chart}"' in page
    # Tables without run labels or a runs table (e.g. summaries only) still report.
    only = {"summary": tables["summary"].drop("run").lazy()}
    page = write_report(only, tmp_path / "summary-only.html").read_text(encoding="utf-8")
    assert 'id="chart-overhead"' in page and "No <code>stretch</code> table" in page


def test_report_is_written_atomically(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old")
    assert write_report(results_dir, out) == out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_report_of_nothing_is_a_results_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no results found"):
        write_report(tmp_path, tmp_path / "r.html")
    with pytest.raises(ResultsError, match="no summary"):
        write_report({}, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def cli_runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2 keeps stderr apart by default
        return CliRunner()


def test_report_command(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.html"
    result = cli_runner().invoke(report_command, [str(results_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and f"wrote {out}" in result.stdout


def test_report_command_error_is_one_line_exit_2(tmp_path: Path) -> None:
    result = cli_runner().invoke(report_command, [str(tmp_path / "nowhere"), "--out",
                                                  str(tmp_path / "r.html")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dmmemu: error: ")
    assert "not a directory of results" in lines[0]
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------- in a browser

class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (see module doc)."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def on_fds_3_and_4() -> None:  # in the child, before exec
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        profile.mkdir(parents=True, exist_ok=True)
        self._log = open(profile / "chromium.log", "wb")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--remote-debugging-pipe", f"--user-data-dir={profile}",
             f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            pass_fds=(3, 4), preexec_fn=on_fds_3_and_4)  # noqa: PLW1509 (only dup2 runs)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for message in messages:
                self._messages.put(json.loads(message))
        self._messages.put(None)

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session is not None:
            request["sessionId"] = session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            if message is None:
                raise RuntimeError(f"chromium exited during {method}")
            if message.get("id") == request["id"]:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, since: int = 0, timeout: float = 30.0) -> dict[str, Any]:
        """The first event ``method`` at or after ``self.events[since]``, waiting for it."""
        for event in self.events[since:]:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self._messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            if message is None:
                raise RuntimeError(f"chromium exited waiting for {method}")
            self.events.append(message)
            if message.get("method") == method:
                return message

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, queue.Empty):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        self._log.close()


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed: "
                "apt-get update && apt-get install -y chromium (.ci/run does this)")


# Per chart: the drawn plotly SVGs, the traces in them, and the axis titles drawn.
CHART_STATE = """JSON.stringify(Object.fromEntries(%s.map(id => {
  const div = document.getElementById(id);
  return [id, div ? {
    svgs: div.querySelectorAll('svg.main-svg').length,
    traces: div.querySelectorAll('g.trace').length,
    data: (div.data || []).length,
    axes: Array.from(div.querySelectorAll('text[class^="x"][class$="title"], '
                                          + 'text[class^="y"][class$="title"]'),
                     t => t.textContent)} : null];
})))"""


def problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions, error log entries and non-local requests."""
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console.error: " + " ".join(
                str(arg.get("value", arg.get("description"))) for arg in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append("exception: " + details.get("exception", {}).get(
                "description", details.get("text", "")))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:", "about:", "blob:")):
                found.append(f"network request: {url}")
    return found


class Rendered(NamedTuple):
    charts: dict[str, Any]  # CHART_STATE of each chart id
    problems: list[str]  # see problems()
    png: bytes  # full-page screenshot


def render(page: Path, chart_ids: Sequence[str], profile: Path,
           timeout: float = 30.0) -> Rendered:
    """Open ``page`` in headless Chromium, wait (up to ``timeout`` s) until every chart of
    ``chart_ids`` is drawn, and return the charts' state, the problems seen and a full-page
    screenshot."""
    browser = Chromium(chromium_binary(), profile)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1,
                      "mobile": False}, session=session)
        before = len(browser.events)
        browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired", since=before)

        expression = CHART_STATE % json.dumps(list(chart_ids))
        deadline = time.monotonic() + timeout
        while True:
            charts = json.loads(browser.send("Runtime.evaluate", {
                "expression": expression, "returnByValue": True}, session=session)
                ["result"]["value"])
            drawn = all(c and c["svgs"] > 0 and c["traces"] > 0 for c in charts.values())
            if drawn or time.monotonic() > deadline:
                break
            time.sleep(0.2)

        size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": WINDOW[0], "height": size["height"],
                     "scale": 1}}, session=session)
        # One more round trip, so console output of the last scripts has arrived.
        browser.send("Runtime.evaluate", {"expression": "1"}, session=session)
    finally:
        browser.close()
    return Rendered(charts, problems(browser.events), base64.b64decode(shot["data"]))


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    rendered = render(report, CHART_IDS, tmp_path / "profile")
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(rendered.png)

    assert rendered.problems == []
    for chart, state in rendered.charts.items():
        assert state is not None, f"{chart}: no such element"
        assert state["svgs"] > 0 and state["traces"] >= state["data"] > 0, (chart, state)
        for title in AXIS_UNITS[chart]:
            assert any(title in text for text in state["axes"]), (chart, title, state["axes"])
    assert screenshot.stat().st_size > 50_000
    # Pillow comes with matplotlib (a test dependency).
    image_module = pytest.importorskip("PIL.Image", reason="the colour check needs Pillow")
    with image_module.open(screenshot) as image:
        assert image.width == WINDOW[0] and image.height > 2 * WINDOW[1]
        colors = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colors is None or len(colors) > 50  # None: more colours than that


def test_the_browser_check_sees_errors(tmp_path: Path) -> None:
    """The checker itself: a console error, an uncaught exception, a remote script and a
    chart that never draws are all reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><script>console.error('boom');</script>"
        '<script src="http://127.0.0.1:9/missing.js"></script></head>'
        "<body><div id='chart-x'></div><script>undefinedFunction();</script></body></html>",
        encoding="utf-8")
    rendered = render(page, ["chart-x", "chart-absent"], tmp_path / "profile", timeout=1.0)
    found = "\n".join(rendered.problems)
    assert "console.error: boom" in found
    assert "exception: ReferenceError: undefinedFunction is not defined" in found
    assert "network request: http://127.0.0.1:9/missing.js" in found
    assert rendered.charts["chart-x"]["svgs"] == 0 and rendered.charts["chart-absent"] is None


def test_bars_spanning_orders_of_magnitude_keep_the_small_ones_visible() -> None:
    """Issue 12 §5: DMM's signaling bar beside MIPv6's. Values spanning 100× or more get a
    log axis, and every signaling bar carries its total as a label."""
    from dmmemu.report.html import LOG_AXIS_SPAN, _scale_for, _signaling_figure

    signaling = pl.LazyFrame({
        "run": ["mipv6", "mipv6", "dmm"], "practice": ["mipv6", "mipv6", "dmm"],
        "trace": ["t"] * 3, "cause": ["handover", "refresh", "handover"],
        "msgs": [25_000, 5_000, 12], "bytes": [1, 1, 1], "byte_hops": [1, 1, 1]})
    figure = _signaling_figure(signaling, ["mipv6", "dmm"], {})
    assert figure.layout.yaxis.type == "log"
    (labels,) = [trace for trace in figure.data if trace.type == "scatter"]
    assert list(labels.text) == ["30,000", "12"] and list(labels.y) == [30_000, 12]
    assert _scale_for([10, 10 * LOG_AXIS_SPAN - 1]) == {"rangemode": "tozero"}
    assert _scale_for([0, 10, 10 * LOG_AXIS_SPAN]) == {"type": "log"}
    assert _scale_for([0, 0]) == {"rangemode": "tozero"}


def test_no_cdf_line_lies_on_the_edge_of_its_chart(trace: dmmemu.Trace) -> None:
    """Issue 12 §5: MIPv6's interruption CDF, one vertical step at the largest value of any
    run, hid on the right edge. Every point of every line lies strictly inside the axes."""
    from dmmemu.report.html import _interruption_figure, _stretch_figure

    tables = combine_results([dmmemu.run(trace, key) for key in ("mipv6", "pmipv6", "dmm")])
    order = tables["summary"]["run"].to_list()
    colors = dict.fromkeys(order, "#000000")
    for figure in (_interruption_figure(tables["handovers"].lazy(), order, colors),
                   _stretch_figure(tables["stretch"].lazy(), order, colors)):
        (x_low, x_high), (y_low, y_high) = figure.layout.xaxis.range, figure.layout.yaxis.range
        for line in figure.data:
            assert x_low < min(line.x) and max(line.x) < x_high, line.name
            assert y_low <= min(line.y) and max(line.y) < y_high, line.name
