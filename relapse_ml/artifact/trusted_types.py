"""What a genuine relapse-ml model file may hold: the one allowlist, and the archive audit.

A ``.skops`` archive is a zip whose ``schema.json`` names, for every object, a
skops node kind (``__loader__``) and a fully qualified type (``__module__`` +
``__class__``) that loading imports and constructs or calls. A hostile file can
name any callable there (``builtins.exec`` through a reduce node, for instance),
so :func:`audit_archive` reads ``schema.json`` as plain JSON, before skops builds
anything, and refuses every node kind or type that a freshly trained model of
some family and calibration method does not hold. Prefixes such as ``numpy.``
are never trusted: they cover ``numpy.testing``'s code runners. After loading,
:func:`check_tree_structure` refuses trees whose node indices point outside
their arrays (scikit-learn follows them without bounds checks).

The names are derived from the imported classes rather than written out, so a
private module moving between supported library versions (``numpy.random
._generator``, ``sklearn._loss._loss``) changes the name here, not the file
format; tests train every family and calibration method and check both ways.
"""

from __future__ import annotations

import contextlib
import functools
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from relapse_ml._version import package_version

# Node kinds a genuine artifact uses. Kinds that call a named function
# (ConstructorFromReduceNode, FunctionNode, PartialNode, MethodNode,
# OperatorFuncNode) never occur in one and are refused whatever they name.
TRUSTED_LOADERS = frozenset(
    {
        "DTypeNode",
        "DictNode",
        "JsonNode",
        "ListNode",
        "LossNode",
        "NdArrayNode",
        "ObjectNode",
        "RandomGeneratorNode",
        "SliceNode",
        "TreeNode",
        "TupleNode",
        "TypeNode",
    }
)

# schema.json of a genuine artifact is a few MB; a larger one is refused
# before it is decompressed (a zip bomb should cost nothing).
MAX_SCHEMA_BYTES = 512 * 1024 * 1024


def _qualified_name(obj: Any) -> str:
    """The ``module.Name`` skops writes for a class (its ``__module__``, as skops does)."""
    return f"{obj.__module__}.{obj.__name__}"


@functools.cache
def trusted_types() -> frozenset[str]:
    """The exact set of fully qualified type names a genuine model file may hold.

    Returns
    -------
    frozenset of str
        E.g. ``sklearn.linear_model._logistic.LogisticRegression``; nothing
        else is loaded. Built once, on first use (the classes are imported).
    """
    import numpy as np
    from sklearn._loss._loss import CyHalfBinomialLoss
    from sklearn._loss.link import Interval, LogitLink
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.calibration import (
        CalibratedClassifierCV,
        _CalibratedClassifier,
        _SigmoidCalibration,
    )
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._tree import Tree

    from relapse_ml.artifact import LandmarkModels, RelapseRiskModel, RiskBands
    from relapse_ml.artifact.reference import TrainingReference
    from relapse_ml.features.catalogue import FeatureSpec
    from relapse_ml.features.config import FeatureConfig
    from relapse_ml.features.transformers import LandmarkFeatures
    from relapse_ml.modeling.incidence import ConditionalFactor, IncidenceCurve

    classes = (
        # containers and the JSON leaves skops writes for text and numbers
        dict,
        list,
        tuple,
        str,
        slice,
        # arrays, their dtypes and scalars; the boosting model's random generator
        np.ndarray,
        np.dtype,
        np.float64,
        np.int64,
        np.uint64,
        np.random.Generator,
        # scikit-learn: preprocessing, every model family, calibration
        Pipeline,
        ColumnTransformer,
        SimpleImputer,
        MissingIndicator,
        StandardScaler,
        OneHotEncoder,
        LabelEncoder,
        LogisticRegression,
        IsotonicRegression,
        RandomForestClassifier,
        DecisionTreeClassifier,
        Tree,
        HistGradientBoostingClassifier,
        _BinMapper,
        TreePredictor,
        HalfBinomialLoss,
        CyHalfBinomialLoss,
        LogitLink,
        Interval,
        CalibratedClassifierCV,
        _CalibratedClassifier,
        _SigmoidCalibration,
        StratifiedKFold,
        # relapse-ml's own classes
        LandmarkModels,
        RelapseRiskModel,
        IncidenceCurve,
        ConditionalFactor,
        RiskBands,
        TrainingReference,
        LandmarkFeatures,
        FeatureConfig,
        FeatureSpec,
    )
    # skops names a Generator's bit generator by its numpy.random attribute.
    bit_generator = f"numpy.random.{np.random.PCG64.__name__}"
    return frozenset({bit_generator, *(_qualified_name(c) for c in classes)})


class ArchiveRefused(Exception):
    """The file cannot be trusted; ``reason`` is one line, ``types`` what was refused."""

    def __init__(self, reason: str, types: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.types = types


def _nodes(state: Any) -> Iterator[dict[str, Any]]:
    """Every node of a schema (any dict with a ``__loader__``), wherever skops put it."""
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _bit_generator(node: dict[str, Any]) -> str | None:
    """The ``numpy.random`` class a Generator node names inside its JSON state (skops calls it)."""
    try:
        literal = node["content"]["bit_generator"]["content"]["bit_generator"]["content"]
        name = json.loads(literal)
    except (KeyError, TypeError, ValueError):
        return None
    return f"numpy.random.{name}" if isinstance(name, str) else None


def _show(name: str) -> str:
    """A name from the file, safe to print on one line (escaped, bounded)."""
    text = name if name.isprintable() else name.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 120 else text[:117] + "..."


def archive_types(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The node kinds and fully qualified type names a parsed ``schema.json`` asks for.

    Parameters
    ----------
    schema : dict
        The parsed ``schema.json`` of a skops archive.

    Returns
    -------
    loaders, types : set of str
    """
    loaders: set[str] = set()
    types: set[str] = set()
    for node in _nodes(schema):
        loaders.add(str(node["__loader__"]))
        types.add(f"{node.get('__module__')}.{node.get('__class__')}")
        if node["__loader__"] == "RandomGeneratorNode":
            types.add(_bit_generator(node) or "numpy.random.<missing bit generator>")
    return loaders, types


# relapse-ml classes genuine models of earlier versions held and this one no
# longer has: 0.1.0's calibration wrapper, replaced by CalibratedClassifierCV.
RETIRED_TYPES = frozenset({"relapse_ml.modeling.calibration.CalibratedRiskClassifier"})


def _retired_types(schema: dict[str, Any]) -> set[str]:
    """The :data:`RETIRED_TYPES` a parsed ``schema.json`` names (any other unknown type is untrusted)."""
    return archive_types(schema)[1] & RETIRED_TYPES


def _refuse_other_layout(schema: dict[str, Any]) -> None:
    """Refuse, naming its version, a model from another package layout or with a retired class.

    Only the archive's JSON is read (the version is a plain string node); a
    model from another package layout would otherwise be refused as holding
    unknown types, which reads like an attack rather than an old file.
    """
    from relapse_ml.artifact import RelapseRiskModel

    module, name = schema.get("__module__"), schema.get("__class__")
    if name != RelapseRiskModel.__name__ or not str(module).startswith("relapse_ml."):
        return
    if module == RelapseRiskModel.__module__ and not _retired_types(schema):
        return
    content = schema.get("content")
    fields = content.get("content") if isinstance(content, dict) else None
    node = fields.get("package_version") if isinstance(fields, dict) else None
    made_by = "an older relapse-ml"
    if isinstance(node, dict) and node.get("__class__") == "str":
        with contextlib.suppress(ValueError, TypeError):
            made_by = f"relapse-ml {json.loads(node.get('content', ''))[:40]}"
    raise ArchiveRefused(
        f"saved by {made_by}, whose model files this version ({package_version()}) cannot "
        "load; retrain it with `relapse-ml train` (nothing was loaded)"
    )


def audit_archive(path: Path) -> list[str]:
    """Check a ``.skops`` file against the allowlist without constructing anything.

    Parameters
    ----------
    path : Path
        The archive.

    Returns
    -------
    list of str
        The (trusted) type names it holds, to pass to ``skops.io.load``.

    Raises
    ------
    ArchiveRefused
        Not a skops archive, or it names a node kind or type off the allowlist.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("schema.json")
            if info.file_size > MAX_SCHEMA_BYTES:
                raise ArchiveRefused(
                    f"its schema.json is {info.file_size} bytes, far beyond a model's"
                )
            schema = json.loads(archive.read(info))
    except ArchiveRefused:
        raise
    except (zipfile.BadZipFile, KeyError):
        raise ArchiveRefused("not a skops model archive (no zip with schema.json)") from None
    except (ValueError, RecursionError, OSError) as exc:
        raise ArchiveRefused(f"unreadable skops archive ({type(exc).__name__})") from None
    if not isinstance(schema, dict):
        raise ArchiveRefused("not a skops model archive (schema.json is not an object)")
    _refuse_other_layout(schema)
    loaders, types = archive_types(schema)
    bad_loaders = sorted(loaders - TRUSTED_LOADERS)
    bad_types = sorted(types - trusted_types())
    if bad_types or bad_loaders:
        refused = tuple(_show(n) for n in (*bad_types, *(f"{k} nodes" for k in bad_loaders)))
        shown = ", ".join(refused[:10]) + (
            f" and {len(refused) - 10} more" if len(refused) > 10 else ""
        )
        raise ArchiveRefused(
            f"holds types no relapse-ml model holds (refused, nothing was loaded): {shown}",
            refused,
        )
    return sorted(types)


def _check_children(left, right, features, n_features: int, what: str) -> None:
    """Child and feature indices scikit-learn follows without bounds checks must be in range."""
    import numpy as np

    left, right, features = (np.asarray(a, dtype=np.int64) for a in (left, right, features))
    n_nodes = len(left)
    split = left != -1
    in_range = (
        (left[split] > 0).all()
        and (left[split] < n_nodes).all()
        and (right[split] > 0).all()
        and (right[split] < n_nodes).all()
        and (right[~split] == -1).all()
        and (features[split] >= 0).all()
        and (features[split] < n_features).all()
    )
    if not in_range:
        raise ArchiveRefused(f"holds a malformed {what} (a node index or feature out of range)")


def check_tree_structure(model: Any) -> None:
    """Refuse trees whose node indices point outside their arrays (refused, never used).

    ``sklearn.tree._tree.Tree`` and the boosting ``TreePredictor`` index their
    node arrays without bounds checks at prediction time, so a crafted file
    could read or crash outside them; a genuine tree always passes.

    Raises
    ------
    ArchiveRefused
        A tree of ``model`` is malformed.
    """
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.tree import DecisionTreeClassifier

    seen: set[int] = set()
    stack = [model]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (str, bytes, int, float, np.ndarray, type)):
            continue
        seen.add(id(item))
        if isinstance(item, DecisionTreeClassifier) and hasattr(item, "tree_"):
            tree = item.tree_
            if tree.n_features != item.n_features_in_:
                raise ArchiveRefused("holds a malformed decision tree (feature count)")
            _check_children(
                tree.children_left, tree.children_right, tree.feature, tree.n_features,
                "decision tree",
            )  # fmt: skip
        elif isinstance(item, HistGradientBoostingClassifier):
            for predictor in (p for row in getattr(item, "_predictors", ()) for p in row):
                nodes = predictor.nodes
                leaf = nodes["is_leaf"].astype(bool)
                left = np.where(leaf, -1, nodes["left"].astype(np.int64))
                right = np.where(leaf, -1, nodes["right"].astype(np.int64))
                if nodes["is_categorical"].any():
                    raise ArchiveRefused("holds a boosting tree with categorical splits")
                _check_children(
                    left, right, nodes["feature_idx"], item.n_features_in_, "boosting tree"
                )
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
