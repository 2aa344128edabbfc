"""A model file saved by an older relapse-ml (classes in another module) is refused with its version."""

from __future__ import annotations

import copy
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from relapse_ml.artifact import LandmarkModels, RelapseRiskModel, load_model, save_model
from relapse_ml.errors import ModelFileError, UntrustedModelError
from relapse_ml.serving.scoring import score_patients
from tests.helpers import CONSOLE_SCRIPT

# Where 0.1.0 kept the artifact's classes (before the layered layout).
OLD_MODULE = "relapse_ml.serving.artifact"


def single_landmark_file(model_file: Path, out: Path) -> Path:
    """The first landmark's model saved alone, as relapse-ml 0.2 wrote its files (no curve)."""
    model = copy.copy(load_model(model_file).primary)
    for name in ("curve", "horizons_days"):
        del model.__dict__[name]
    model.schema_version, model.package_version = 1, "0.2.0"
    return save_model(model, out)


def as_older_file(model_file: Path, out: Path, version: str) -> Path:
    """``model_file`` as relapse-ml ``version`` wrote it: same archive, old module, old version."""
    model_file = single_landmark_file(model_file, out.with_suffix(".single.skops"))
    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "schema.json":
                text = data.decode().replace(f'"{RelapseRiskModel.__module__}"', f'"{OLD_MODULE}"')
                schema = json.loads(text)
                schema["content"]["content"]["package_version"]["content"] = json.dumps(version)
                data = json.dumps(schema).encode()
            target.writestr(item, data)
    return out


def test_an_older_model_is_refused_with_its_version_and_a_retrain_hint(model_path, tmp_path):
    old = as_older_file(model_path, tmp_path / "old.skops", "0.1.0")
    with pytest.raises(ModelFileError) as caught:
        load_model(old)
    message = str(caught.value)
    assert not isinstance(caught.value, UntrustedModelError)
    assert "relapse-ml 0.1.0" in message and "retrain" in message
    assert load_model(model_path).package_version  # the unchanged file still loads


def test_the_cli_refuses_it_with_exit_2_and_one_line(model_path, tmp_path):
    old = as_older_file(model_path, tmp_path / "old.skops", "0.1.0")
    data = tmp_path / "data"
    data.mkdir()
    done = subprocess.run(
        [CONSOLE_SCRIPT, "predict", "--data", str(data), "--model", str(old), "--out",
         str(tmp_path / "p.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "relapse-ml 0.1.0" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "p.csv").exists()


def test_a_model_from_before_contract_version_2_keeps_scoring_without_curves(
    model_path, tmp_path, simulated_data
):
    """A 0.2 file (one landmark, no curve, schema 1) scores; its curve and death columns are empty."""
    single = load_model(single_landmark_file(model_path, tmp_path / "v02.skops"))
    assert isinstance(single, LandmarkModels) and single.landmarks_days == (28,)
    patients, measurements = simulated_data.patients.head(20), simulated_data.measurements
    scores = score_patients(single.at(28), patients, measurements)
    current = score_patients(load_model(model_path).at(28), patients, measurements)
    assert list(scores.columns) == list(current.columns)
    curve = [c for c in scores if c.startswith(("risk_by_day_", "death_without_relapse_by_day_"))]
    assert len(curve) == 6 and scores[curve].isna().all().all()
    assert (scores["schema_version"] == 1).all() and (current["schema_version"] == 2).all()
    np.testing.assert_allclose(scores["risk"], current["risk"], rtol=0, atol=0)
