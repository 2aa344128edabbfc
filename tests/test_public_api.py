"""The package's public API: small, explicit, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import relapse_ml


def test_every_public_name_resolves():
    for name in relapse_ml.__all__:
        assert getattr(relapse_ml, name) is not None, name
    with pytest.raises(AttributeError):
        relapse_ml.not_a_public_name  # noqa: B018


def test_importing_the_package_does_not_load_mlflow_or_shap():
    code = "import sys, relapse_ml; print('mlflow' in sys.modules, 'shap' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
