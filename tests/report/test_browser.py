"""Render the report in headless chromium: the page loads, the screenshot is not blank, and
the risk-over-time chart and the landmark trajectory are shown, with their numbers, and the
kind of relapse to expect shows its headline and drivers.

Skipped when chromium is not installed, unless RELAPSE_ML_REQUIRE_BROWSER=true
(CI), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

import pytest

from relapse_ml.workflows.explain import run_explain

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="session")
def browser() -> str:
    """Path of a chromium binary (skip or, in CI, fail before any setup work)."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    reason = f"headless browser test needs chromium (none of {', '.join(BROWSERS)} on PATH); apt-get install chromium"
    if os.environ.get("RELAPSE_ML_REQUIRE_BROWSER", "").lower() == "true":
        pytest.fail(f"RELAPSE_ML_REQUIRE_BROWSER=true but {reason}")
    pytest.skip(reason)


@pytest.mark.browser
def test_report_renders_in_headless_chromium(browser, report_setup, tmp_path):
    from PIL import Image

    data_dir, model_path, ids = report_setup
    html_path = tmp_path / "report.html"
    run_explain(data_dir, str(model_path), [ids[0], ids[1]], html_path)
    png = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        "--window-size=1200,2000",
        html_path.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.is_file() and png.stat().st_size > 10_000
    with Image.open(png) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1200, 2000)
        colours = rgb.getcolors(maxcolors=1_000_000)
        non_white = sum(count for count, colour in colours if colour != (255, 255, 255))
    # Text, bars and band badges: many colours and a real share of non-white pixels.
    assert len(colours) > 50
    assert non_white > 0.05 * 1200 * 2000


class DevTools:
    """Headless chromium driven over ``--remote-debugging-pipe`` (the DevTools protocol).

    Commands go to the browser's fd 3 and answers come from its fd 4, each message a
    JSON object ended by a NUL byte; no network port and no extra package are needed.
    """

    def __init__(self, browser: str, profile: str, width: int, height: int) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # runs in the child, before exec
            inbound, outbound = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(inbound, 3)
            os.dup2(outbound, 4)

        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--remote-debugging-pipe", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", "about:blank",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            close_fds=False,
            preexec_fn=wire_pipes,  # the child wires fds 3 and 4 before exec
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer, self._id, self._session = b"", 0, None

    def send(self, method: str, **params: object) -> dict:
        """Send one command and return its result (events in between are skipped)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self._session and not method.startswith("Target."):
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_browser, 1 << 16)
                assert chunk, "chromium closed the DevTools pipe"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._id:
                assert "error" not in answer, answer["error"]
                return answer["result"]

    def open(self, url: str, width: int, height: int) -> None:
        """Open ``url`` in a new page of the given size and wait until it has loaded."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while self.evaluate("document.readyState") != "complete":
            assert time.monotonic() < deadline, "the report did not finish loading"
            time.sleep(0.1)

    def evaluate(self, expression: str) -> object:
        """The JSON value of ``expression`` evaluated in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def close(self) -> None:
        """Close the browser and the pipes."""
        try:
            self.send("Browser.close")
            self.process.wait(timeout=30)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=30)
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


# What the page shows of the chart and the trajectory, measured by the browser: an
# element is shown when it has a box, is not hidden, and is what is drawn at its centre.
_LAYOUT = """(() => {
  const shown = el => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width <= 0 || box.height <= 0 || style.visibility === 'hidden') return false;
    const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return top !== null && (el === top || el.contains(top) || top.contains(el));
  };
  const box = el => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  return [...document.querySelectorAll('section.patient')].map(section => {
    const chart = section.querySelector('svg.incidence-chart');
    const table = section.querySelector('table.trajectory');
    return {
      chart: chart && {shown: shown(chart), box: box(chart),
        texts: [...chart.querySelectorAll('text')].map(t => t.textContent),
        bars: [...chart.querySelectorAll('rect.relapse, rect.death')].map(
          r => ({kind: r.getAttribute('class'), height: r.getBoundingClientRect().height,
                 shown: shown(r)})),
        primary: chart.querySelectorAll('rect.primary-horizon').length},
      table: table && {box: box(table)},
      rows: [...section.querySelectorAll('tr.trajectory-row')].map(
        r => ({shown: shown(r), text: r.innerText})),
    };
  });
})()"""


def _percent(p: float) -> str:
    """How the report writes a probability (as ``relapse_ml.report.html``)."""
    return f"{100 * p:.0f}%" if 100 * p >= 9.5 else f"{100 * p:.1f}%"


@pytest.mark.browser
def test_curve_and_trajectory_render_side_by_side(browser, report_setup, tmp_path):
    data_dir, model_path, ids = report_setup
    html_path = tmp_path / "report.html"
    content = run_explain(data_dir, str(model_path), [ids[1], ids[2]], html_path, landmark=90)
    width, height = 1200, 6000  # tall enough that both patients are in the viewport
    devtools = DevTools(browser, str(tmp_path / "profile"), width, height)
    try:
        devtools.open(html_path.resolve().as_uri(), width, height)
        shown = devtools.evaluate(_LAYOUT)
    finally:
        devtools.close()
    assert len(shown) == len(content["patients"])
    for patient, page in zip(content["patients"], shown, strict=True):
        chart = page["chart"]
        assert chart and chart["shown"] and chart["primary"] == 1
        curve = patient["curve"]
        relapse_bars = [b for b in chart["bars"] if b["kind"] == "relapse"]
        assert len(relapse_bars) == len(curve)
        assert all(b["shown"] and b["height"] > 0 for b in chart["bars"])
        # Taller bars for larger incidences, as drawn by the browser.
        order = sorted(range(len(curve)), key=lambda k: curve[k]["relapse"])
        heights = [relapse_bars[k]["height"] for k in order]
        assert heights == sorted(heights)
        for point in curve:
            assert _percent(point["relapse"]) in chart["texts"]
            assert f"day {point['horizon_days']}" in chart["texts"]
        # The trajectory: one visible row per landmark up to 90, with its risk and changes.
        rows = page["rows"]
        assert [r["shown"] for r in rows] == [True] * len(patient["trajectory"])
        for row, step in zip(rows, patient["trajectory"], strict=True):
            assert f"day {step['landmark_day']}" in row["text"]
            assert _percent(step["risk"]) in row["text"]
            assert step["what_changed"][0] in row["text"]
        # Side by side: the table starts right of the chart, overlapping it vertically.
        chart_box, table_box = chart["box"], page["table"]["box"]
        assert table_box[0] >= chart_box[2]
        assert table_box[1] < chart_box[3] and chart_box[1] < table_box[3]


# The kind-of-relapse section as the browser lays it out: its heading, the headline
# (shown, not clipped by the page width) and the driver items.
_PHENOTYPE = """(() => {
  const shown = el => {
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width <= 0 || box.height <= 0 || style.visibility === 'hidden') return false;
    const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return top !== null && (el === top || el.contains(top) || top.contains(el));
  };
  return [...document.querySelectorAll('section.patient')].map(section => {
    const block = section.querySelector('div.phenotype');
    const line = block && block.querySelector('.phenotype-headline');
    const heading = block && block.previousElementSibling;
    const box = line && line.getBoundingClientRect();
    return {
      heading: heading && heading.innerText,
      headline: line && {shown: shown(line), text: line.innerText, left: box.left,
                         right: box.right, weight: getComputedStyle(line).fontWeight},
      drivers: block ? [...block.querySelectorAll('ul.drivers li')].map(
        li => ({shown: shown(li), text: li.innerText})) : [],
    };
  });
})()"""


@pytest.mark.browser
def test_kind_of_relapse_renders_with_its_headline(browser, report_setup, tmp_path):
    data_dir, model_path, ids = report_setup
    html_path = tmp_path / "report.html"
    content = run_explain(data_dir, str(model_path), [ids[1], ids[2]], html_path)
    width, height = 1200, 6000
    devtools = DevTools(browser, str(tmp_path / "profile"), width, height)
    try:
        devtools.open(html_path.resolve().as_uri(), width, height)
        shown = devtools.evaluate(_PHENOTYPE)
    finally:
        devtools.close()
    assert len(shown) == len(content["patients"])
    for patient, page in zip(content["patients"], shown, strict=True):
        block = patient["phenotype"]
        assert block["available"], block
        assert page["heading"].lower() == "kind of relapse to expect"
        line = page["headline"]
        assert line and line["shown"], line
        assert line["text"] == block["headline"]
        assert re.fullmatch(
            r"If relapse occurs, it is more likely antigen-(negative|positive) \(\d+%\)",
            line["text"],
        )
        assert 0 <= line["left"] < line["right"] <= width and int(line["weight"]) >= 600
        assert len(page["drivers"]) == len(block["drivers"]) > 0
        for item, driver in zip(page["drivers"], block["drivers"], strict=True):
            assert item["shown"] and f"toward {driver['toward']}" in item["text"]
