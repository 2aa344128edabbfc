"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture(scope="module")
def spark_session():
    """One Spark session per module (the engine reuses a running session and leaves it)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    yield session
    session.stop()
