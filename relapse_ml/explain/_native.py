"""Exact SHAP values of the fitted classifier in its native output space.

The classifier step of the served pipeline is explained on the preprocessed
matrix it actually receives:

- ``LogisticRegression``: the exact closed form of SHAP for a linear model with
  independent features, ``phi_j = w_j (z_j - mean_j)``, base ``b0 = w . mean + c``,
  where ``mean`` is the column mean of the preprocessed matrix of all training
  patients, kept in the model's training reference (``preprocessed_means``: no
  patient rows are stored). This is what ``shap.LinearExplainer`` computes with
  that matrix as background (a test asserts equality) without its per-call overhead.
- ``HistGradientBoostingClassifier`` (log-odds) and ``RandomForestClassifier``
  (probability of the positive class): ``shap.TreeExplainer`` with
  ``feature_perturbation="tree_path_dependent"``; ``b0`` is the explainer's
  expected value (the trees' training-cover-weighted mean output): the trees'
  own node statistics, no stored data.

Either way ``b0`` depends only on the fitted model, so the baseline is one
constant per model. Every call checks local accuracy, ``b0 + sum(phi)`` equal to
the classifier's own native output: shap 0.51's TreeSHAP is silently wrong for
HistGradientBoosting with native categorical splits (off by several log-odds,
and shap's own ``check_additivity`` does not notice), and this check is what
turns such an error into :class:`ExplanationError` instead of a wrong report.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from relapse_ml.errors import RelapseMLError
from relapse_ml.explain._treeshap import TreeArrays, tree_shap

# Native outputs are log-odds (a few units) or probabilities; TreeSHAP works in
# float64 on float32 thresholds, so exact explanations agree to ~1e-12. The
# shap/HGB categorical bug is off by whole log-odds: anything above this is wrong.
NATIVE_ADDITIVITY_TOL = 1e-6


class ExplanationError(RelapseMLError):
    """An explanation does not add up to the output it explains (a bug, not bad input)."""


@dataclass(frozen=True)
class NativeExplainer:
    """SHAP in the classifier's native output space, for one fitted classifier.

    Attributes
    ----------
    kind : {"linear", "tree"}
        Closed-form linear SHAP or shap's TreeExplainer.
    base_value : float
        ``b0``, the native output the contributions start from (constant per model).
    method : str
        One-line description for reports.
    """

    kind: str
    base_value: float
    method: str
    classifier: object
    column_means: np.ndarray | None = None
    trees: TreeArrays | None = None

    def native_output(self, Z: np.ndarray) -> np.ndarray:
        """The classifier's own native output: log-odds (LR, HGB) or P(positive) (RF)."""
        # HGB's OpenMP prediction spends more time synchronising threads than
        # working on ~100 small trees (3-6x slower than one thread on a busy host).
        with threadpool_limits(limits=1, user_api="openmp"):
            if hasattr(self.classifier, "decision_function"):
                return np.asarray(self.classifier.decision_function(Z), dtype=np.float64)
            return np.asarray(self.classifier.predict_proba(Z)[:, 1], dtype=np.float64)

    def shap_values(self, Z: np.ndarray) -> np.ndarray:
        """Return ``phi`` of shape (n, columns of ``Z``) in the native output space."""
        if self.kind == "linear":
            coef = np.asarray(self.classifier.coef_, dtype=np.float64)[0]
            return (Z - self.column_means) * coef
        return tree_shap(self.trees, Z)

    def explain(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(phi, native_output)`` after checking ``b0 + sum(phi) == native_output``.

        Raises
        ------
        ExplanationError
            The SHAP values do not add up to the classifier's output.
        """
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        phi = self.shap_values(Z)
        native = self.native_output(Z)
        check_native_additivity(phi, self.base_value, native, what=type(self.classifier).__name__)
        return phi, native


def check_native_additivity(
    phi: np.ndarray, base_value: float, native: np.ndarray, *, what: str = "classifier"
) -> None:
    """Raise :class:`ExplanationError` unless ``base_value + phi.sum(1)`` equals ``native``.

    Parameters
    ----------
    phi : ndarray of shape (n, p)
        SHAP values in the native output space.
    base_value : float
        The explainer's expected value.
    native : ndarray of shape (n,)
        The classifier's own native output for the same rows.
    what : str
        Name used in the error message.
    """
    if len(native) == 0:
        return
    gap = np.abs(base_value + phi.sum(axis=1) - native)
    worst = int(np.argmax(gap))
    if not np.isfinite(gap).all() or gap[worst] > NATIVE_ADDITIVITY_TOL:
        raise ExplanationError(
            f"SHAP values of the {what} do not add up to its output: base value + sum of "
            f"contributions differs from the prediction by {gap[worst]:.3g} (row {worst}; "
            f"tolerance {NATIVE_ADDITIVITY_TOL:g}). The explanation would not explain the served "
            "risk. Known cause: shap's TreeExplainer with HistGradientBoosting native categorical "
            "features (one-hot encode categories instead)."
        )


def _checked_means(classifier: LogisticRegression, column_means: np.ndarray | None) -> np.ndarray:
    if column_means is None:
        raise ExplanationError(
            "a linear explanation needs the training column means of the reference "
            "(preprocessed_means); retrain the model with this version"
        )
    mean = np.asarray(column_means, dtype=np.float64)
    if mean.shape != (classifier.coef_.shape[1],):
        raise ExplanationError(
            f"training column means of shape {mean.shape} do not match the classifier's "
            f"{classifier.coef_.shape[1]} inputs"
        )
    return mean


def build_native_explainer(classifier: object, column_means: np.ndarray | None) -> NativeExplainer:
    """Build the exact explainer for a fitted classifier step.

    Parameters
    ----------
    classifier : LogisticRegression, HistGradientBoostingClassifier or RandomForestClassifier
        The fitted ``classifier`` step of the served pipeline.
    column_means : ndarray of shape (columns,), optional
        Column means of the preprocessed training matrix (needed for the linear
        model only).

    Returns
    -------
    NativeExplainer
    """
    if isinstance(classifier, LogisticRegression):
        mean = _checked_means(classifier, column_means)
        base = float(classifier.coef_[0] @ mean + classifier.intercept_[0])
        return NativeExplainer(
            kind="linear",
            base_value=base,
            method=(
                "exact linear SHAP (closed form, as shap.LinearExplainer) on the log-odds, "
                "against the column means of all training patients"
            ),
            classifier=classifier,
            column_means=mean,
        )
    if isinstance(classifier, HistGradientBoostingClassifier | RandomForestClassifier):
        import shap  # here only: scoring needs its kernel, not the package (see _treeshap)

        explainer = shap.TreeExplainer(classifier, feature_perturbation="tree_path_dependent")
        expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        base = float(expected[1] if expected.size == 2 else expected[0])
        space = (
            "log-odds" if isinstance(classifier, HistGradientBoostingClassifier) else "probability"
        )
        return NativeExplainer(
            kind="tree",
            base_value=base,
            method=(
                f"exact TreeSHAP (shap.TreeExplainer, tree-path-dependent) on the {space} of the "
                f"{type(classifier).__name__}"
            ),
            classifier=classifier,
            trees=TreeArrays.from_explainer(explainer),
        )
    raise ExplanationError(f"no exact explainer for {type(classifier).__name__}")


# One explainer per fitted classifier object: building a TreeExplainer walks
# every tree, and streaming batch jobs call the explainer once per chunk. Keys
# are weak, so an unloaded model frees its explainer.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_native_explainer(classifier: object, column_means: np.ndarray | None) -> NativeExplainer:
    """Return the explainer of ``classifier``, building it once per object.

    ``column_means`` is used only when a linear explainer must be built.
    """
    hit = _CACHE.get(classifier)
    if hit is not None:
        return hit
    explainer = build_native_explainer(classifier, column_means)
    _CACHE[classifier] = explainer
    return explainer


def adopt_native_explainer(explainer: NativeExplainer) -> None:
    """Use ``explainer`` for its own ``classifier`` from now on in this process.

    A batch worker receives the model and its explainer in one pickle (so
    ``explainer.classifier`` is the model's classifier object) and adopts the
    explainer instead of building one, which would import shap.
    """
    _CACHE[explainer.classifier] = explainer
