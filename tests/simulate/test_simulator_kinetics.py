"""Stein-model transgene curve and functional-loss day on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from relapse_ml.simulate._kinetics import car_level, loss_day


def _lat(fb: float) -> dict[str, np.ndarray]:
    return {
        "cmax": np.array([24000.0]),
        "tmax": np.array([9.3]),
        "fold": np.array([3900.0]),
        "alpha": np.array([0.16]),
        "fb": np.array([fb]),
        "beta": np.array([0.0032]),
    }


def test_car_level_follows_stein_shape():
    lat = _lat(0.0079)
    idx = np.array([0, 0, 0, 0])
    c = car_level(lat, idx, np.array([-7, 0, 9.3, 100.0]))
    assert c[0] == 0.0
    assert c[1] == pytest.approx(24000.0 / 3900.0)  # R0 = Cmax / fold
    assert c[2] == pytest.approx(24000.0)
    s = 100.0 - 9.3
    expected = 24000.0 * ((1 - 0.0079) * np.exp(-0.16 * s) + 0.0079 * np.exp(-0.0032 * s))
    assert c[3] == pytest.approx(expected)


def test_loss_day_single_phase_is_analytic():
    lat = _lat(0.0)
    t = loss_day(lat, np.array([60.0]))
    assert t[0] == pytest.approx(9.3 + np.log(24000.0 / 60.0) / 0.16, abs=1e-3)


def test_loss_day_in_persistence_phase():
    """Typical 4-1BB B-ALL: plateau ~190 copies/ug, threshold 60 -> about a year."""
    lat = _lat(0.0079)
    t = loss_day(lat, np.array([60.0]))[0]
    level = car_level(lat, np.array([0]), np.array([t]))[0]
    assert level == pytest.approx(60.0, rel=1e-4)
    assert 300 < t < 420
