"""A model file saved by an older relapse-ml (classes in another module) is refused with its version."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from relapse_ml.artifact import RelapseRiskModel, load_model
from relapse_ml.errors import ModelFileError, UntrustedModelError
from tests.helpers import CONSOLE_SCRIPT

# Where 0.1.0 kept the artifact's classes (before the layered layout).
OLD_MODULE = "relapse_ml.serving.artifact"


def as_older_file(model_file: Path, out: Path, version: str) -> Path:
    """``model_file`` as relapse-ml ``version`` wrote it: same archive, old module, old version."""
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
