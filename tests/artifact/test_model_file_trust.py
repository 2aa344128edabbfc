"""Model files never run code: an exact allowlist, checked before anything is constructed."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
from mlflow.pyfunc import PythonModelContext
from sklearn.linear_model import LogisticRegression

from relapse_ml.artifact import LandmarkModels, RelapseRiskModel, file_sha256, load_model
from relapse_ml.artifact.trusted_types import TRUSTED_LOADERS, archive_types, trusted_types
from relapse_ml.cli import main
from relapse_ml.errors import ModelFileError, UntrustedModelError
from relapse_ml.tracking.pyfunc import ARTIFACT_KEY, RelapseRiskPyfunc
from tests.artifact.hostile import empty_dict_node, hostile_archive, payloads, write_archive
from tests.helpers import assert_valid_risks, tiny_tables, write_tables

FAMILIES = ("logistic", "hist_gradient_boosting", "random_forest")
CALIBRATIONS = ("sigmoid", "isotonic")
TARGETS = tuple(payloads(Path("unused")))
REDUCE_LOADERS = ("ConstructorFromReduceNode", "LossNode")


@pytest.fixture(scope="module")
def genuine_models(model_file) -> dict[tuple[str, str], Path]:
    """A genuine model of every family with every calibration method (the shared factory)."""
    return {(f, c): model_file(f, c) for f in FAMILIES for c in CALIBRATIONS}


@pytest.fixture(scope="module")
def patients_folder(tmp_path_factory) -> Path:
    return write_tables(tmp_path_factory.mktemp("patients"), tiny_tables())


def _schema(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("schema.json"))


@pytest.mark.parametrize("calibration", CALIBRATIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_genuine_model_holds_only_allowlisted_types_and_loads(
    genuine_models, simulated_data, family, calibration
):
    path = genuine_models[family, calibration]
    loaders, types = archive_types(_schema(path))
    assert loaders <= TRUSTED_LOADERS, loaders - TRUSTED_LOADERS
    assert types <= trusted_types(), types - trusted_types()
    # skops' own audit finds nothing beyond the allowlist either.
    assert set(sio.get_untrusted_types(file=path)) <= trusted_types()
    models = load_model(path)
    assert isinstance(models, LandmarkModels) and models.landmarks_days == (28, 90, 180)
    assert all(isinstance(m, RelapseRiskModel) for m in models.models)
    model = models.primary
    assert model.family == family
    assert model.calibration_method == calibration
    data = simulated_data  # the cohort it was trained on
    assert_valid_risks(
        model.risk(model.model_input(data.patients, data.measurements)), len(data.patients)
    )


def test_the_allowlist_is_exactly_what_genuine_models_hold(genuine_models):
    held = set().union(*(archive_types(_schema(p))[1] for p in genuine_models.values()))
    assert held == trusted_types(), {
        "unused": trusted_types() - held,
        "missing": held - trusted_types(),
    }
    loaders = set().union(*(archive_types(_schema(p))[0] for p in genuine_models.values()))
    assert loaders == TRUSTED_LOADERS
    assert not any(t.startswith(("builtins.exec", "builtins.eval", "numpy.testing")) for t in held)


@pytest.mark.parametrize("loader", REDUCE_LOADERS)
@pytest.mark.parametrize("target", TARGETS)
def test_hostile_archive_is_refused_and_runs_no_code(tmp_path, target, loader):
    marker = tmp_path / "code-ran"
    path = hostile_archive(tmp_path / "hostile.skops", marker, target, loader)
    with pytest.raises(UntrustedModelError) as refused:
        load_model(path)
    message = str(refused.value)
    assert str(path) in message and target in message and "\n" not in message
    assert refused.value.exit_code == 2
    assert not marker.exists(), "the archive's payload ran"


def test_hostile_payload_hidden_among_genuine_types_is_refused(tmp_path, genuine_models):
    marker = tmp_path / "code-ran"
    hostile = hostile_archive(tmp_path / "h.skops", marker, "builtins.exec")
    schema = _schema(genuine_models["logistic", "sigmoid"])
    schema["content"]["content"]["metrics"] = _schema(hostile)  # deep inside a real model
    del schema["content"]["content"]["metrics"]["protocol"]
    with zipfile.ZipFile(genuine_models["logistic", "sigmoid"]) as source:
        with zipfile.ZipFile(tmp_path / "mixed.skops", "w") as target:
            for item in source.infolist():
                if item.filename != "schema.json":
                    target.writestr(item, source.read(item))
            target.writestr("schema.json", json.dumps(schema))
    with pytest.raises(UntrustedModelError, match=r"builtins\.exec"):
        load_model(tmp_path / "mixed.skops")
    assert not marker.exists()


def test_files_that_are_not_a_relapse_model_are_one_line_user_errors(tmp_path):
    text = tmp_path / "notes.skops"
    text.write_text("not a zip")
    no_schema = tmp_path / "empty.skops"
    with zipfile.ZipFile(no_schema, "w") as archive:
        archive.writestr("other.txt", "x")
    estimator = tmp_path / "estimator.skops"
    sio.dump(LogisticRegression(), estimator)
    mapping = write_archive(
        tmp_path / "dict.skops",
        empty_dict_node(),
    )
    broken = write_archive(
        tmp_path / "broken.skops",
        {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode"},
    )
    for path, expected in (
        (broken, "not a loadable relapse-ml model"),
        (text, "not a skops model archive"),
        (no_schema, "not a skops model archive"),
        (estimator, "LogisticRegression, not a relapse-ml model"),
        (mapping, "builtins.dict, not a relapse-ml model"),
        (tmp_path / "missing.skops", "does not exist"),
    ):
        with pytest.raises(ModelFileError) as error:
            load_model(path)
        assert expected in str(error.value) and str(path) in str(error.value)
        assert "\n" not in str(error.value) and error.value.exit_code == 2


def test_a_changed_file_fails_the_checksum(genuine_models):
    path = genuine_models["logistic", "sigmoid"]
    other = file_sha256(genuine_models["logistic", "isotonic"])
    with pytest.raises(UntrustedModelError, match="sha256 differs"):
        load_model(path, expected_sha256=other)
    assert isinstance(load_model(path, expected_sha256=file_sha256(path)), LandmarkModels)


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_cli_refuses_a_hostile_model_file_with_exit_2_and_one_line(
    tmp_path, patients_folder, capsys, command
):
    marker = tmp_path / "code-ran"
    model = hostile_archive(
        tmp_path / "shared.skops", marker, "numpy.testing._private.utils.runstring"
    )
    out = tmp_path / ("scores.csv" if command == "predict" else "report.html")
    args = [command, "--data", str(patients_folder), "--out", str(out), "--model", str(model)]
    if command == "explain":
        args += ["--patient", "P1"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert str(model) in err and "numpy.testing._private.utils.runstring" in err
    assert not marker.exists() and not out.exists()


def test_rest_pyfunc_refuses_a_hostile_artifact(tmp_path):
    marker = tmp_path / "code-ran"
    model = hostile_archive(tmp_path / "relapse_model.skops", marker, "builtins.eval", "LossNode")
    context = PythonModelContext(artifacts={ARTIFACT_KEY: str(model)}, model_config={})
    with pytest.raises(UntrustedModelError, match=r"builtins\.eval"):
        RelapseRiskPyfunc().load_context(context)
    assert not marker.exists()


def test_rest_pyfunc_checks_the_logged_checksum(genuine_models):
    path = genuine_models["random_forest", "isotonic"]
    wrong = PythonModelContext({ARTIFACT_KEY: str(path)}, {"skops_sha256": "0" * 64})
    with pytest.raises(UntrustedModelError, match="sha256"):
        RelapseRiskPyfunc().load_context(wrong)
    right = PythonModelContext({ARTIFACT_KEY: str(path)}, {"skops_sha256": file_sha256(path)})
    pyfunc = RelapseRiskPyfunc()
    pyfunc.load_context(right)
    assert pyfunc.model.family == "random_forest"


def _first_tree_nodes(state) -> dict:
    """The ``nodes`` array node of the first decision tree in a schema."""
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("__loader__") == "TreeNode":
                return item["content"]["content"]["nodes"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError("no tree in the file")


@pytest.mark.parametrize("field", ["left_child", "feature"])
def test_a_tree_whose_indices_point_outside_it_is_refused(tmp_path, genuine_models, field):
    import io

    import numpy as np

    source = genuine_models["random_forest", "sigmoid"]
    nodes_file = _first_tree_nodes(_schema(source))["file"]
    tampered = tmp_path / "tampered.skops"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(tampered, "w") as target:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == nodes_file:
                nodes = np.load(io.BytesIO(data), allow_pickle=False)
                nodes[field][0] = 10**6  # the root's child / feature, far out of range
                buffer = io.BytesIO()
                np.save(buffer, nodes, allow_pickle=False)
                data = buffer.getvalue()
            target.writestr(item, data)
    with pytest.raises(UntrustedModelError, match="malformed decision tree") as refused:
        load_model(tampered)
    assert str(tampered) in str(refused.value)
