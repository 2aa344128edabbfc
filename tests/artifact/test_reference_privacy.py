"""No training patient's row or extreme value is stored in the model file.

A model file is what centres exchange. The test trains a model on a simulated
cohort, saves and reloads it as a centre would, and walks every value the file
holds: the training reference (ranges, medians, drift bins, explainer means)
and the fitted pipeline (imputer statistics, scaler, coefficients, trees,
calibrator). It asserts that

- no stored row (a 2-D array's row, a 1-D array as wide as the feature matrix,
  or the rows formed by a dict of per-feature columns) equals a training
  patient's feature row, raw or preprocessed;
- no value stored for a feature equals that feature's training minimum or
  maximum where a single patient holds it (that value identifies the patient).
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
import pandas as pd
import pytest

from relapse_ml.artifact import RelapseRiskModel, load_model
from relapse_ml.artifact.reference import MIN_GROUP, build_training_reference
from relapse_ml.features import FeatureSpec
from relapse_ml.modeling import fitted_pipeline

FAMILIES = ("logistic", "hist_gradient_boosting", "random_forest")
_MISSING = -1.234567e300  # stands for NaN so that missing equals missing in row comparisons


def _walk(obj: object, path: tuple[str, ...], seen: set[int]):
    """Yield ``(path, value)`` for every array and number reachable from ``obj``."""
    if isinstance(obj, bool | str | bytes) or obj is None:
        return
    if isinstance(obj, numbers.Number):
        yield path, obj
        return
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        if obj.dtype.names:  # structured (tree nodes): one array per field
            for name in obj.dtype.names:
                yield (*path, name), obj[name]
            return
        yield path, obj
        if obj.dtype == object:
            for i, item in enumerate(obj.ravel()):
                yield from _walk(item, (*path, str(i)), seen)
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk(value, (*path, str(key)), seen)
        return
    if isinstance(obj, list | tuple | set | frozenset):
        for i, item in enumerate(obj):
            yield from _walk(item, (*path, str(i)), seen)
        return
    if isinstance(obj, pd.DataFrame | pd.Series):
        yield path, obj.to_numpy()
        return
    if isinstance(obj, type) or inspect.isroutine(obj) or inspect.ismodule(obj):
        return
    state = getattr(obj, "__dict__", None)
    if not isinstance(state, dict):  # Cython objects (sklearn trees) expose their arrays this way
        state = obj.__getstate__() if hasattr(obj, "__getstate__") else None
    if isinstance(state, dict):
        yield from _walk(state, (*path, type(obj).__name__), seen)


def _numeric(value: object) -> np.ndarray | None:
    array = np.asarray(value)
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    return None


def _rows_equal(candidates: np.ndarray, rows: np.ndarray) -> bool:
    """Does any candidate row equal any training row exactly (missing equal to missing)?"""
    if candidates.size == 0 or rows.size == 0:
        return False
    c = np.where(np.isnan(candidates), _MISSING, candidates)
    r = np.where(np.isnan(rows), _MISSING, rows)
    known = {tuple(row) for row in r}
    return any(tuple(row) in known for row in c)


def _training_features(result, data) -> pd.DataFrame:
    model = result.model.primary
    features = fitted_pipeline(model.classifier).named_steps["features"]
    model_input = model.model_input(data.patients, data.measurements)
    test_ids = set(result.test_input["patient_id"].astype(str))
    task_ids = {str(p) for p in result.task.patient_ids}
    train = model_input[
        model_input["patient_id"].astype(str).isin(task_ids - test_ids)
    ].reset_index(drop=True)
    frame = features.transform(train)
    names = [s.name for s in model.catalogue]
    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame, columns=names)
    assert len(frame) == len(task_ids) - len(test_ids)
    return frame.reset_index(drop=True)


def _unique_extremes(train: pd.DataFrame, model: RelapseRiskModel) -> dict[str, set[float]]:
    out: dict[str, set[float]] = {}
    for spec in model.catalogue:
        if spec.kind != "numeric":
            continue
        values = train[spec.name].to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        extremes = set()
        for extreme in (finite.min(), finite.max()) if finite.size else ():
            if (finite == extreme).sum() == 1:
                extremes.add(float(extreme))
        out[spec.name] = extremes
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_model_file_holds_no_patient_row_or_extreme(
    simulated_data, training_result, model_file, family: str
):
    data = simulated_data
    result = training_result(family, "isotonic")
    model = load_model(
        model_file(family, "isotonic")
    ).primary  # saved and reloaded as a centre would
    # The run's logged subgroup table (per site, disease...) shows no count below 10.
    subgroups = result.tables["subgroup_metrics.csv"]
    cells = subgroups[["n", "events", "non_events"]].to_numpy().ravel().tolist()
    assert "<10" in cells  # this cohort has small sites: the rule is exercised
    assert not [c for c in cells if str(c).isdigit() and int(c) < 10]
    train = _training_features(result, data)
    names = [s.name for s in model.catalogue]
    numeric_names = [s.name for s in model.catalogue if s.kind != "categorical"]
    raw_rows = train[numeric_names].to_numpy(dtype=np.float64, na_value=np.nan)
    preprocess = fitted_pipeline(model.classifier).named_steps["preprocess"]
    z_rows = np.asarray(preprocess.transform(train), dtype=np.float64)
    widths = {raw_rows.shape[1]: raw_rows, z_rows.shape[1]: z_rows}
    extremes = _unique_extremes(train, model)
    assert sum(len(v) for v in extremes.values()) > 20  # the check has something to find

    n_arrays = n_values = n_rows = 0
    for path, value in _walk(model, (), set()):
        array = _numeric(value)
        if array is None:
            continue
        n_arrays += isinstance(value, np.ndarray)
        n_values += array.size
        # A stored row of the width of the feature matrix (raw or preprocessed).
        if array.ndim in (1, 2) and array.shape[-1] in widths:
            candidates = np.atleast_2d(array)
            n_rows += len(candidates)
            assert not _rows_equal(candidates, widths[array.shape[-1]]), (
                f"{'/'.join(path)} holds a training patient's feature row"
            )
        # A value stored under a feature's name equal to one patient's extreme.
        owner = next((p for p in reversed(path) if p in extremes), None)
        if owner is not None and extremes[owner]:
            hit = set(array.ravel().tolist()) & extremes[owner]
            assert not hit, (
                f"{'/'.join(path)} stores {sorted(hit)}, the training extreme of "
                f"{owner} held by a single patient"
            )
    # A dict holding an equally long column for most features (e.g. a background
    # sample) stores rows across them; compare on the continuous features (0/1 or
    # small-count features alone would match by chance).
    continuous = [s.name for s in model.catalogue if s.kind == "numeric"]
    checked: set[tuple[tuple[str, ...], int]] = set()
    for path, value in _walk(vars(model.reference), ("reference",), set()):
        if not isinstance(value, np.ndarray) or value.ndim != 1 or len(path) < 2:
            continue
        if path[-1] not in names or (path[:-1], len(value)) in checked:
            continue
        checked.add((path[:-1], len(value)))
        columns = {
            k: v
            for k, v in _parent(vars(model.reference), path[1:-1]).items()
            if k in continuous and isinstance(v, np.ndarray) and v.shape == value.shape
        }
        if len(columns) >= len(continuous) / 2:
            stored = np.column_stack([columns[k].astype(np.float64) for k in columns])
            n_rows += len(stored)
            assert not _rows_equal(
                stored, train[list(columns)].to_numpy(np.float64, na_value=np.nan)
            ), f"reference/{'/'.join(path[1:-1])} holds training patients' feature rows"
    print(
        f"{family}: checked {n_arrays} arrays, {n_values} values, {n_rows} candidate rows "
        f"against {len(train)} training patients, {sum(map(len, extremes.values()))} "
        "single-patient extremes"
    )
    assert n_arrays > 50 and n_values > 1000


def _parent(reference: dict, keys: tuple[str, ...]) -> dict:
    node: object = reference
    for key in keys:
        node = node[key]
    return node


def test_reference_keeps_no_small_group_summary():
    """Per-disease medians and drift bins exist only for groups of at least 10 patients."""
    features = pd.DataFrame(
        {
            "x": np.r_[np.arange(30.0), np.arange(9.0), [np.nan] * 5],
            "rare": np.r_[[np.nan] * 40, [1.0, 2.0, 3.0, 4.0]],
        }
    )
    disease = pd.Series(["B-ALL"] * 30 + ["MM"] * 9 + ["FL"] * 5)
    catalogue = (
        FeatureSpec("x", "tme", "numeric", "", "X", ()),
        FeatureSpec("rare", "tme", "numeric", "", "Rare", ()),
    )
    reference = build_training_reference(features, catalogue, disease)
    assert MIN_GROUP == 10
    assert set(reference.median_by_disease["x"]) == {"B-ALL"}  # MM has 9, FL none
    assert reference.median_by_disease["rare"] == {}
    # Four measured values: no quantiles, no drift bin edges, nothing of theirs kept.
    rare = reference.numeric["rare"]
    assert not any(np.isfinite(rare[k]) for k in ("median", "q01", "q99"))
    assert "min" not in rare and "max" not in rare
    assert len(reference.psi_edges["rare"]) == 0
    assert not hasattr(reference, "background")
