"""Shared fixtures: small synthetic cohorts of contract patients columns."""

from __future__ import annotations

import pytest

from .synthetic import FEATURE_COLUMNS, synthetic_patients


@pytest.fixture(scope="session")
def cohort_400():
    """400 patients: (frame, y, weights)."""
    return synthetic_patients(400, seed=0)


@pytest.fixture(scope="session")
def cohort_2000():
    """2,000 patients (train) and 2,000 more (test) from the same risk model."""
    return synthetic_patients(2000, seed=1), synthetic_patients(2000, seed=2)


@pytest.fixture
def feature_columns():
    return FEATURE_COLUMNS
