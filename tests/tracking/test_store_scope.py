"""A block pointed at one store leaves MLflow's URIs, and their environment copies, as it found them."""

from __future__ import annotations

import os

import mlflow

from relapse_ml.tracking._uri import using_store

VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def test_using_store_leaves_no_uri_in_the_environment(tmp_path, monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with using_store(f"sqlite:///{tmp_path / 'a.db'}"):
        assert os.environ["MLFLOW_REGISTRY_URI"].endswith("a.db")
    # A subprocess started now (mlflow models serve) must not inherit this store.
    assert not any(name in os.environ for name in VARIABLES)


def test_using_store_restores_the_callers_uris(tmp_path, monkeypatch):
    first = f"sqlite:///{tmp_path / 'first.db'}"
    mlflow.set_tracking_uri(None)  # earlier tests may have left a process-wide URI
    monkeypatch.setenv("MLFLOW_TRACKING_URI", first)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    with using_store(f"sqlite:///{tmp_path / 'second.db'}"):
        pass
    assert os.environ["MLFLOW_TRACKING_URI"] == first
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert mlflow.get_tracking_uri() == first
    mlflow.set_tracking_uri(None)
