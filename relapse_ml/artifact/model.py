"""The one trained artifact: raw contract tables in, calibrated risk out.

Batch prediction, REST serving and the clinician report all load this object,
so training and serving cannot drift apart. It is saved with skops (no pickle)
and loaded only after :func:`relapse_ml.artifact.trusted_types.audit_archive`
has checked every type in the file against the exact allowlist.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV

from relapse_ml.artifact.reference import TrainingReference
from relapse_ml.errors import ConfigError, ModelFileError, UntrustedModelError
from relapse_ml.features import FeatureSpec, attach_measurements
from relapse_ml.modeling import calibrate, fitted_pipeline, native_output
from relapse_ml.modeling.incidence import IncidenceCurve


@dataclass
class RiskBands:
    """Risk bands shown to clinicians (probability thresholds, labels, rationale).

    ``by_landmark`` sets other thresholds at some landmark days (the same labels):
    a recipe's ``{90: [0.15, 0.4]}``, kept as ``((90, (0.15, 0.4)),)``; see
    :meth:`for_landmark`.
    """

    thresholds: tuple[float, ...]
    labels: tuple[str, ...]
    rationale: str
    by_landmark: tuple[tuple[int, tuple[float, ...]], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.by_landmark, Mapping):
            self.by_landmark = tuple(
                (int(day), tuple(float(t) for t in values))
                for day, values in sorted(self.by_landmark.items())
            )
        for thresholds in (self.thresholds, *(t for _, t in self.by_landmark)):
            if len(self.labels) != len(thresholds) + 1 or list(thresholds) != sorted(thresholds):
                raise ValueError(
                    "risk bands need increasing thresholds and one more label than thresholds"
                )
            if not all(0 < t < 1 for t in thresholds):
                raise ValueError("risk band thresholds must lie strictly between 0 and 1")

    def for_landmark(self, landmark_day: int) -> RiskBands:
        """The bands at ``landmark_day``: its own thresholds if the recipe sets them."""
        thresholds = dict(self.by_landmark).get(int(landmark_day), self.thresholds)
        return RiskBands(tuple(thresholds), tuple(self.labels), self.rationale)

    def assign(self, risk: np.ndarray) -> np.ndarray:
        """Return the band label of each risk (a risk equal to a threshold takes the higher band)."""
        index = np.searchsorted(
            np.asarray(self.thresholds, dtype=float), np.asarray(risk, dtype=float), side="right"
        )
        return np.asarray(self.labels, dtype=object)[index]


@dataclass
class RelapseRiskModel:
    """Everything needed to go from contract tables to an explained risk.

    Attributes
    ----------
    classifier : sklearn.calibration.CalibratedClassifierCV
        Features -> preprocessing -> classifier (refitted on all training rows,
        ``ensemble=False``), plus the calibration map.
    catalogue : tuple of FeatureSpec
        What each feature is (group, unit, plain-language label, sources).
    landmark_day, horizon_days : int
        The prediction task: the landmark and the primary horizon.
    schema_version : int
        Data-contract version the model was trained on.
    package_version : str
        relapse-ml version that trained it.
    family, calibration_method : str
        Chosen model family and calibration map.
    risk_bands : RiskBands
        Band thresholds and their rationale.
    reference : TrainingReference
        Training-population summaries (1st-99th percentile ranges, medians,
        categories, column means for explanations, drift bins; no patient rows); see
        :func:`relapse_ml.artifact.reference.build_training_reference`.
    trained_at : str
        ISO timestamp of training.
    metrics : dict of str to float
        Headline test metrics, for reports.
    model_name : str
        Registered model name.
    horizons_days : tuple of int
        Every configured horizon (the curve's output columns, the same at every landmark).
    curve : IncidenceCurve or None
        Cumulative incidences of relapse and non-relapse death over ``horizons_days``,
        anchored at the risk; None for a model trained before contract version 2.
    phenotype : CalibratedClassifierCV or None
        ``P(antigen-negative | relapse by the primary horizon)`` (same pipeline shape
        as ``classifier``); None when skipped (``phenotype_note`` says why).
    phenotype_note : str
        Why the phenotype part is missing ("" when present).
    phenotype_means : ndarray or None
        Column means of the phenotype model's preprocessed training relapses: the
        baseline of its exact linear explanation (its own preprocessing, its own rows).
    """

    classifier: CalibratedClassifierCV
    catalogue: tuple[FeatureSpec, ...]
    landmark_day: int
    horizon_days: int
    schema_version: int
    package_version: str
    family: str
    calibration_method: str
    risk_bands: RiskBands
    reference: TrainingReference
    trained_at: str
    metrics: dict[str, float]
    model_name: str
    horizons_days: tuple[int, ...] = ()
    curve: IncidenceCurve | None = None
    phenotype: CalibratedClassifierCV | None = None
    phenotype_note: str = "the model has no phenotype part (trained before relapse-ml 0.3)"
    phenotype_means: np.ndarray | None = None

    def model_input(self, patients: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
        """Canonical typed tables -> the classifier's input (one row per patient)."""
        return attach_measurements(patients, measurements)

    def features(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """The landmark features (before imputation) of each patient."""
        out = fitted_pipeline(self.classifier).named_steps["features"].transform(model_input)
        names = [s.name for s in self.catalogue]
        return out if isinstance(out, pd.DataFrame) else pd.DataFrame(out, columns=names)

    def risk(self, model_input: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of relapse by the horizon, one per patient."""
        return self.classifier.predict_proba(model_input)[:, 1]

    def incidences(self, features: pd.DataFrame, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative incidences of relapse and non-relapse death by each of ``horizons_days``.

        Returns two arrays of shape (n_patients, n_horizons); NaN where a horizon is not
        after the landmark, where deaths were unknown in training, or, for a model
        without a curve, everywhere.
        """
        if self.curve is None:
            empty = np.full((len(features), len(self.horizons_days)), np.nan)
            return empty, empty.copy()
        return self.curve.incidences(features, risk)

    def antigen_negative_share(self, features: pd.DataFrame) -> np.ndarray:
        """``P(antigen-negative | relapse)`` per patient from the landmark features (NaN: no part)."""
        if self.phenotype is None:
            return np.full(len(features), np.nan)
        if len(features) == 0:
            return np.empty(0)
        steps = fitted_pipeline(self.phenotype)
        native = native_output(steps[1:], features)
        return calibrate(self.phenotype, native)

    def phenotype_view(self) -> RelapseRiskModel | None:
        """The phenotype model as a :class:`RelapseRiskModel` (to explain it like the risk)."""
        if self.phenotype is None:
            return None
        reference = dataclasses.replace(self.reference, preprocessed_means=self.phenotype_means)
        return dataclasses.replace(
            self, classifier=self.phenotype, curve=None, phenotype=None, reference=reference
        )


class LandmarkNotTrainedError(ConfigError):
    """A landmark day the model has no model for (exit 2, naming the trained ones)."""


@dataclass
class LandmarkModels:
    """The registered artifact: one :class:`RelapseRiskModel` per landmark day.

    Attributes
    ----------
    models : tuple of RelapseRiskModel
        By increasing landmark day; the first is what scoring uses by default.
    """

    models: tuple[RelapseRiskModel, ...]

    @classmethod
    def of(cls, models: LandmarkModels | RelapseRiskModel) -> LandmarkModels:
        """``models`` itself, or one landmark's model as a single-landmark artifact."""
        return cls((models,)) if isinstance(models, RelapseRiskModel) else models

    def __post_init__(self) -> None:
        days = [m.landmark_day for m in self.models]
        if not days or days != sorted(set(days)):
            raise ValueError(f"landmark models must have increasing landmark days, not {days}")

    @property
    def landmarks_days(self) -> tuple[int, ...]:
        """The trained landmark days, increasing."""
        return tuple(m.landmark_day for m in self.models)

    @property
    def primary(self) -> RelapseRiskModel:
        """The model at the first landmark: the default, and the one promotion compares."""
        return self.models[0]

    def at(self, landmark_day: int | None = None) -> RelapseRiskModel:
        """The model for patients alive and relapse-free at ``landmark_day`` (None: the first).

        Raises
        ------
        LandmarkNotTrainedError
            No model was trained for that landmark.
        """
        if landmark_day is None:
            return self.primary
        for model in self.models:
            if model.landmark_day == landmark_day:
                return model
        trained = ", ".join(str(d) for d in self.landmarks_days)
        raise LandmarkNotTrainedError(
            f"no model for landmark day {landmark_day}: this model was trained for landmark "
            f"day(s) {trained}"
        )

    def up_to(self, landmark_day: int) -> tuple[RelapseRiskModel, ...]:
        """The models at every trained landmark up to ``landmark_day`` (for a trajectory)."""
        return tuple(m for m in self.models if m.landmark_day <= landmark_day)

    def __getattr__(self, name: str) -> object:
        # What identifies the whole artifact (name, versions, horizons, headline
        # metrics) is the first landmark's; anything else must name a landmark.
        if name in _SHARED_FIELDS:
            return getattr(self.primary, name)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")


_SHARED_FIELDS = frozenset(
    {
        "model_name",
        "schema_version",
        "package_version",
        "trained_at",
        "metrics",
        "horizon_days",
        "horizons_days",
        "family",
        "calibration_method",
    }
)


def save_model(model: LandmarkModels, path: Path) -> Path:
    """Save ``model`` with skops (pickle-free) and return ``path``."""
    import skops.io as sio

    sio.dump(model, path)
    return path


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file (recorded at registration, checked before loading)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_model(path: Path, *, expected_sha256: str | None = None) -> LandmarkModels:
    """Load a model saved by :func:`save_model` after checking every type it holds.

    Parameters
    ----------
    path : Path
        The ``.skops`` file.
    expected_sha256 : str, optional
        The checksum recorded at registration; a different file is refused.

    Raises
    ------
    UntrustedModelError
        The file names a type outside the allowlist (nothing is constructed),
        or its checksum differs from ``expected_sha256``.
    ModelFileError
        The file is missing, not a skops archive, or holds something other
        than a :class:`LandmarkModels` (or a single-landmark :class:`RelapseRiskModel`
        of relapse-ml 0.2, which is wrapped as one).
    """
    import skops.io as sio

    from relapse_ml.artifact.trusted_types import (
        ArchiveRefused,
        audit_archive,
        check_tree_structure,
    )

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    if expected_sha256 is not None and file_sha256(path) != expected_sha256:
        raise UntrustedModelError(
            f"{path}: sha256 differs from the one recorded at registration "
            f"({expected_sha256[:12]}...): the artifact was changed after registration"
        )
    try:
        trusted = audit_archive(path)
    except ArchiveRefused as exc:
        error = UntrustedModelError if exc.types else ModelFileError
        raise error(f"{path}: {exc.reason}") from None
    try:
        # Belt and braces: skops' own audit must find nothing beyond what we trust.
        extra = sorted(set(sio.get_untrusted_types(file=path)) - set(trusted))
        if extra:
            raise UntrustedModelError(f"{path}: holds untrusted types (refused): {extra!r}")
        model = sio.load(path, trusted=trusted)
    except UntrustedModelError:
        raise
    except Exception as exc:  # a corrupt but allowlisted file: say so in one line
        raise ModelFileError(
            f"{path}: not a loadable relapse-ml model ({type(exc).__name__}: {exc})".splitlines()[0]
        ) from None
    if isinstance(model, RelapseRiskModel):
        model = _single_landmark(model)
    if not isinstance(model, LandmarkModels):
        raise ModelFileError(
            f"{path} holds a {type(model).__module__}.{type(model).__name__}, not a relapse-ml model"
        )
    try:
        check_tree_structure(model)
    except ArchiveRefused as exc:
        raise UntrustedModelError(f"{path}: {exc.reason}") from None
    return model


def _single_landmark(model: RelapseRiskModel) -> LandmarkModels:
    """A model file from before contract version 2 (relapse-ml 0.2): one landmark, no curve.

    It keeps scoring at its landmark (its ``schema_version`` stays 1); its curve and
    death columns are empty, under the current contract's default horizons.
    """
    from relapse_ml.schema import load_contract

    state = vars(model)
    state.setdefault("curve", None)
    state.setdefault("horizons_days", tuple(load_contract().default_horizons_days))
    return LandmarkModels.of(model)


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and what it is called in the registry (empty version for a file)."""

    model: LandmarkModels
    name: str
    version: str
    uri: str


def is_model_file(uri: str) -> bool:
    """Whether a model URI names a local ``.skops`` file rather than an MLflow URI."""
    path = Path(uri)
    return path.is_file() or path.suffix == ".skops"


def load_model_file(path: Path | str) -> ServedModel:
    """Load a ``.skops`` file as a :class:`ServedModel` (no MLflow involved).

    Raises
    ------
    UntrustedModelError, ModelFileError
        As :func:`load_model`.
    """
    model = load_model(Path(path))
    return ServedModel(model, model.model_name, "", str(path))
