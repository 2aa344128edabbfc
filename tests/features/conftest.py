"""Fixtures for the feature tests: the tiny canonical frames of ``tiny_frames``."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.features.tiny_frames import (
    TINY_MEASUREMENTS,
    TINY_PATIENTS,
    make_measurements,
    make_patients,
)


@pytest.fixture
def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three patients (A rich, B sparse, C without measurements) and their measurements."""
    return make_patients(TINY_PATIENTS), make_measurements(TINY_MEASUREMENTS)


@pytest.fixture(name="make_patients")
def _make_patients_fixture():
    return make_patients


@pytest.fixture(name="make_measurements")
def _make_measurements_fixture():
    return make_measurements
