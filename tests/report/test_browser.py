"""Render the report in headless chromium: the page loads and the screenshot is not blank.

Skipped when chromium is not installed, unless RELAPSE_ML_REQUIRE_BROWSER=true
(CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess

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
