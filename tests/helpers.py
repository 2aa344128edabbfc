"""Public test helpers: tiny valid contract tables and domain invariants.

Used by this package's tests and available to centres testing their own
integrations against the contract.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from relapse_ml.io import write_table

#: The installed console script, as a user runs it (the venv need not be on PATH).
CONSOLE_SCRIPT = str(Path(sys.executable).parent / "relapse-ml")


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Return a valid three-patient data set as text tables (contract v1).

    Returns
    -------
    dict of str to DataFrame
        ``patients``, ``measurements`` and ``outcomes``, every cell as text.
    """
    patients = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3"],
            "site": ["S1", "S1", "S2"],
            "infusion_date": ["2020-01-15", "2021-06-01", ""],
            "disease": ["B-ALL", "LBCL", "MM"],
            "target_antigen": ["CD19", "CD19", "BCMA"],
            "costim_domain": ["4-1BB", "CD28", "4-1BB"],
            "age_years": ["12", "61.5", "58"],
            "sex": ["F", "M", ""],
            "prior_lines": ["2", "3", "4"],
            "bridging_therapy": ["true", "No", "1"],
            "ldh_u_per_l": ["250", "410", ""],
            "marrow_blasts_pct": ["35", "", "10"],
            "car_dose_per_kg": ["3e6", "2.0e6", "4e6"],
            "antigen_density": ["2500", "4100", "12590"],
            "crs_grade": ["1", "2", "0"],
            "tocilizumab": ["false", "TRUE", "0"],
            "centre_note": ["kept", "but", "unused"],
        }
    )
    measurements = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P1", "P2", "P2", "P3"],
            "day": ["7", "10", "10", "9", "28", "14"],
            "marker": [
                "car_transgene",
                "car_transgene",
                "car_transgene",
                "car_transgene",
                "b_cells",
                "mrd_pct",
            ],
            "value": ["1200", "24000", "26000", "5000", "0.5", "0.01"],
            "unit": ["copies/ug", "copies/ug", "copies/ug", "copies/ug", "cells/uL", "%"],
            "qualifier": ["", "", "", "", "<", ""],
        }
    )
    outcomes = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3"],
            "relapse": ["true", "false", "yes"],
            "time_days": ["200", "400", "90"],
            "relapse_antigen": ["negative", "", "positive"],
        }
    )
    return {"patients": patients, "measurements": measurements, "outcomes": outcomes}


def quick_train_config(family: str = "logistic", calibration: str = "sigmoid", **overrides):
    """A training recipe small enough for tests: one family, one candidate, few folds and bootstraps.

    Parameters
    ----------
    family, calibration : str
        The one model family and calibration method to use.
    **overrides
        Further top-level config keys (e.g. ``experiment``, ``registered_name``).
    """
    from relapse_ml.config import load_train_config

    return load_train_config(
        None,
        selection={
            "families": [family],
            "n_candidates": 1,
            "cv_repeats": 1,
            "calibration_methods": [calibration],
            "calibration_folds": 3,
        },
        evaluation={"n_bootstrap": 50, "subgroup_min_events": 5},
        phenotype={"n_candidates": 2, "calibration_folds": 3, **overrides.pop("phenotype", {})},
        **overrides,
    )


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], fmt: str = "csv") -> Path:
    """Write text tables into ``folder`` as ``NAME.csv`` or ``NAME.parquet``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_table(frame, folder / f"{name}.{fmt}")
    return folder


def assert_valid_risks(risks: np.ndarray, n_patients: int) -> None:
    """Assert the domain invariant of served risks: finite, in [0, 1], one per patient."""
    risks = np.asarray(risks, dtype=float)
    assert risks.shape == (n_patients,), f"expected {n_patients} risks, got shape {risks.shape}"
    assert np.isfinite(risks).all(), "risks must be finite"
    assert ((risks >= 0) & (risks <= 1)).all(), "risks must lie in [0, 1]"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(
    url: str, timeout_s: float = 90.0, process: subprocess.Popen | None = None
) -> None:
    """Poll ``url`` until it answers 200 (bounded), failing early if ``process`` died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def venv_env(**extra: str) -> dict[str, str]:
    """The environment with this interpreter's bin first on PATH (mlflow's CLI lives there)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def stop_process(process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Stop a server started by a test: terminate, then kill if it does not exit in time."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def text_outside_canvas(figure, tolerance_px: float = 1.0) -> list[str]:
    """Describe every drawn text of ``figure`` whose window extent leaves the canvas.

    The figure is drawn as :func:`mlflow.log_figure` saves it (Agg, the figure's own
    size and dpi, no tight bounding box), so what is checked is what gets logged. Texts
    checked: figure texts and suptitle, each axes' titles, axis labels, tick labels of
    the ticks in view, legend texts and texts added to the axes. Empty or invisible
    texts are skipped.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure to check (its layout engine runs during the draw).
    tolerance_px : float, default 1.0
        Pixels a text may overhang (antialiasing of the glyph edges).

    Returns
    -------
    list of str
        ``"<kind> '<text>': extent [x0, y0, x1, y1] outside canvas [w, h]"``; empty when
        everything fits.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    texts = [("figure text", t) for t in figure.texts]
    for legend in figure.legends:
        texts += [("legend", t) for t in legend.get_texts()]
    for ax in figure.axes:
        if not ax.get_visible():
            continue
        # the three titles (centre, left, right) and added texts are the axes' Text children
        texts += [("title or text", t) for t in ax.get_children() if isinstance(t, Text)]
        texts += [("axis label", ax.xaxis.label), ("axis label", ax.yaxis.label)]
        legend = ax.get_legend()
        if legend is not None:
            texts += [("legend", t) for t in legend.get_texts()]
            texts.append(("legend title", legend.get_title()))
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for locs, ticks in (
                (axis.get_majorticklocs(), axis.get_major_ticks()),
                (axis.get_minorticklocs(), axis.get_minor_ticks()),
            ):
                for loc, tick in zip(locs, ticks, strict=False):
                    if low <= loc <= high:  # ticks outside the view are not drawn
                        texts += [("tick label", tick.label1), ("tick label", tick.label2)]
    problems = []
    for kind, text in texts:
        if not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if (
            box.x0 < -tolerance_px
            or box.y0 < -tolerance_px
            or box.x1 > width + tolerance_px
            or box.y1 > height + tolerance_px
        ):
            problems.append(
                f"{kind} {text.get_text()!r}: extent "
                f"[{box.x0:.0f}, {box.y0:.0f}, {box.x1:.0f}, {box.y1:.0f}] "
                f"outside canvas [{width:.0f}, {height:.0f}]"
            )
    return problems


def assert_fits_canvas(figure, tolerance_px: float = 1.0) -> None:
    """Assert that every drawn text of ``figure`` lies inside its canvas.

    See :func:`text_outside_canvas` for what is checked.
    """
    problems = text_outside_canvas(figure, tolerance_px)
    assert not problems, "figure text outside its canvas:\n" + "\n".join(problems)


def landmark_task_data(tables, landmark: int, config=None):
    """The training step's task data at ``landmark`` for validated ``tables`` (the shared split)."""
    from relapse_ml.training.steps import held_out_patients, task_data

    config = config or quick_train_config()
    test_ids = held_out_patients(tables.patients, tables.outcomes, config)
    return task_data(
        tables.patients, tables.measurements, tables.outcomes, config,
        landmark_day=landmark, test_ids=test_ids,
    )  # fmt: skip
