"""TreeSHAP through shap's C kernel, without importing the ``shap`` package.

``import shap`` costs about 100 MB per process (it pulls numba, llvmlite and
matplotlib), which is most of a batch worker's footprint. A worker needs only
shap's compiled TreeSHAP kernel (``shap._cext.dense_tree_shap``) and the trees
as flat arrays. The arrays are extracted once, by :class:`shap.TreeExplainer`
itself, wherever shap is imported (:meth:`TreeArrays.from_explainer`); they are
plain NumPy, so they travel to workers by pickle, and :func:`tree_shap` feeds
them to the kernel exactly as ``TreeExplainer.shap_values`` does (a test
asserts equal values for every tree family).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# shap's codes for the kernel (shap.explainers._tree).
TREE_PATH_DEPENDENT = 1
TRANSFORM_CODES = {"identity": 0, "logistic": 1}


@dataclass(frozen=True)
class TreeArrays:
    """A fitted tree ensemble as the flat arrays shap's TreeSHAP kernel reads.

    Attributes
    ----------
    children_left, children_right, children_default, features : ndarray of int
        Node links and split features, shape (trees, max nodes).
    thresholds : ndarray of float
        Split thresholds, shape (trees, max nodes).
    threshold_types : ndarray of int
        Numerical or categorical split per node (shap >= 0.51).
    values : ndarray of float
        Node values, shape (trees, max nodes, outputs).
    node_sample_weight : ndarray of float
        Training cover of each node.
    max_depth : int
        Depth of the deepest tree.
    base_offset : float or ndarray
        Constant added to the trees' sum.
    input_dtype : numpy dtype
        The dtype the trees compare against (float32 or float64).
    transform : int
        shap's output-transform code.
    output : int
        Which output is returned (1, the positive class, for forests).
    """

    children_left: np.ndarray
    children_right: np.ndarray
    children_default: np.ndarray
    features: np.ndarray
    thresholds: np.ndarray
    threshold_types: np.ndarray
    values: np.ndarray
    node_sample_weight: np.ndarray
    max_depth: int
    base_offset: object
    input_dtype: np.dtype
    transform: int
    output: int

    @classmethod
    def from_explainer(cls, explainer) -> TreeArrays:
        """Take the arrays of a ``shap.TreeExplainer`` built with ``tree_path_dependent``."""
        model = explainer.model
        outputs = int(model.num_outputs)
        return cls(
            children_left=model.children_left,
            children_right=model.children_right,
            children_default=model.children_default,
            features=model.features,
            thresholds=model.thresholds,
            threshold_types=model.threshold_types,
            values=model.values,
            node_sample_weight=model.node_sample_weight,
            max_depth=int(model.max_depth),
            base_offset=model.base_offset,
            input_dtype=np.dtype(model.input_dtype),
            transform=TRANSFORM_CODES[model.get_transform()],
            output=1 if outputs == 2 else 0,
        )


@functools.cache
def _kernel():
    """shap's compiled ``_cext`` module, loaded without running ``shap/__init__``."""
    loaded = sys.modules.get("shap._cext")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("shap")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("shap is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_cext{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader("shap._cext", str(path))
            module_spec = importlib.util.spec_from_file_location("shap._cext", path, loader=loader)
            module = importlib.util.module_from_spec(module_spec)
            loader.exec_module(module)
            return module
    raise ImportError(f"shap's compiled TreeSHAP kernel is missing from {folder}")


def tree_shap(arrays: TreeArrays, X: np.ndarray) -> np.ndarray:
    """Exact tree-path-dependent SHAP values, shape (n, columns of ``X``).

    Parameters
    ----------
    arrays : TreeArrays
        The ensemble.
    X : ndarray of shape (n, p)
        Rows to explain (the matrix the ensemble receives).
    """
    X = np.ascontiguousarray(X, dtype=arrays.input_dtype)
    n_outputs = arrays.values.shape[2]
    phi = np.zeros((X.shape[0], X.shape[1] + 1, n_outputs))
    _kernel().dense_tree_shap(
        arrays.children_left,
        arrays.children_right,
        arrays.children_default,
        arrays.features,
        arrays.thresholds,
        arrays.threshold_types,
        arrays.values,
        arrays.node_sample_weight,
        arrays.max_depth,
        X,
        np.isnan(X),
        None,
        None,
        None,
        arrays.values.shape[0],
        arrays.base_offset,
        phi,
        TREE_PATH_DEPENDENT,
        arrays.transform,
        False,
    )
    return phi[:, :-1, arrays.output]
