"""Model families: an estimator, its fixed parameters and a bounded search space.

Specs are YAML files, one family per file, in the repository's top-level
``models/`` folder: the one copy, shipped inside the package as
``relapse_ml.model_families`` (a link in a checkout, copied files in a wheel).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ParameterSampler

from relapse_ml.errors import ConfigError

# Only these estimators may be named in a spec: a YAML file never imports code.
ESTIMATORS: dict[str, type[ClassifierMixin]] = {
    "LogisticRegression": LogisticRegression,
    "HistGradientBoostingClassifier": HistGradientBoostingClassifier,
    "RandomForestClassifier": RandomForestClassifier,
}
# Families whose numeric inputs are standardised (penalties need a common scale).
LINEAR_ESTIMATORS = frozenset({"LogisticRegression"})

SPEC_KEYS = frozenset({"family", "estimator", "description", "fixed_params", "search_space"})
RANGE_KEYS = frozenset({"low", "high", "log", "type"})
SHIPPED_FAMILIES = "relapse_ml.model_families"


@dataclass(frozen=True)
class ParamRange:
    """A bounded numeric range for one hyper-parameter.

    Attributes
    ----------
    low, high : float
        Inclusive bounds (``low < high``).
    log : bool
        Sample uniformly on the log scale (needs ``low > 0``).
    integer : bool
        Sample whole numbers (uniform on ``low..high``; ``log`` not allowed).
    """

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def distribution(self) -> Any:
        """Return a frozen scipy distribution with an ``rvs`` method."""
        if self.integer:
            return stats.randint(int(self.low), int(self.high) + 1)
        if self.log:
            return stats.loguniform(self.low, self.high)
        return stats.uniform(self.low, self.high - self.low)

    def contains(self, value: Any) -> bool:
        """Return whether ``value`` lies in the range (and is whole when integer)."""
        if self.integer and float(value) != int(value):
            return False
        return self.low <= float(value) <= self.high


@dataclass(frozen=True)
class ModelFamily:
    """One candidate model family.

    Attributes
    ----------
    name : str
        Family name (``logistic``, ``hist_gradient_boosting``...).
    estimator : str
        Key of :data:`ESTIMATORS`.
    fixed_params : dict
        Parameters set on every candidate (never ``random_state``: the seed sets it).
    search_space : dict
        Parameter name -> list of choices or :class:`ParamRange`.
    description : str
        One line for reports.
    source : str
        File the spec came from (not compared).
    """

    name: str
    estimator: str
    fixed_params: dict[str, Any] = field(default_factory=dict, hash=False)
    search_space: dict[str, list[Any] | ParamRange] = field(default_factory=dict, hash=False)
    description: str = ""
    source: str = field(default="", compare=False)

    @property
    def is_linear(self) -> bool:
        """Whether numeric inputs are standardised for this family."""
        return self.estimator in LINEAR_ESTIMATORS

    def make_estimator(self, params: Mapping[str, Any], random_state: int) -> ClassifierMixin:
        """Return an unfitted classifier with fixed params, ``params`` and the seed."""
        return ESTIMATORS[self.estimator](
            **self.fixed_params, **dict(params), random_state=int(random_state)
        )

    def sample_candidates(self, n_candidates: int, random_state: int) -> list[dict[str, Any]]:
        """Draw up to ``n_candidates`` parameter sets from the search space.

        Sampling is seeded (``ParameterSampler``). When every dimension is a
        list and the grid holds fewer points, the whole grid is returned.
        Values are converted to plain Python numbers so they log cleanly.
        """
        space = {
            key: (value.distribution() if isinstance(value, ParamRange) else list(value))
            for key, value in sorted(self.search_space.items())
        }
        if not space:
            return [{}]
        n = int(n_candidates)
        if all(isinstance(v, list) for v in space.values()):
            n = min(n, int(np.prod([len(v) for v in space.values()])))
        sampler = ParameterSampler(space, n_iter=n, random_state=int(random_state))
        return [{k: _plain(v) for k, v in sorted(c.items())} for c in sampler]


def _plain(value: Any) -> Any:
    """Convert numpy scalars to Python scalars (floats rounded for readable logs)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(f"{float(value):.6g}")
    return value


def _error(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: key '{key}': {message}")


def _parse_range(source: str, key: str, spec: Mapping[str, Any]) -> ParamRange:
    unknown = sorted(set(spec) - RANGE_KEYS)
    if unknown:
        raise _error(source, key, f"unknown range key(s) {unknown}; allowed {sorted(RANGE_KEYS)}")
    if "low" not in spec or "high" not in spec:
        raise _error(source, key, "a range needs both 'low' and 'high' (search spaces are bounded)")
    kind = spec.get("type", "float")
    if kind not in ("float", "int"):
        raise _error(source, key, f"type must be 'float' or 'int', not {kind!r}")
    try:
        low, high = float(spec["low"]), float(spec["high"])
    except (TypeError, ValueError) as exc:
        raise _error(source, key, "low and high must be numbers") from exc
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise _error(source, key, "log must be true or false")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise _error(source, key, f"needs finite low < high, got {low} and {high}")
    if log and (low <= 0 or kind == "int"):
        raise _error(source, key, "log ranges need low > 0 and type float")
    return ParamRange(low=low, high=high, log=log, integer=kind == "int")


def _parse_family(spec: Any, source: str) -> ModelFamily:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{source}: a model-family spec must be a mapping")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise _error(source, unknown[0], f"unknown key(s) {unknown}; allowed {sorted(SPEC_KEYS)}")
    for key in ("family", "estimator"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise _error(source, key, "required, a non-empty string")
    estimator = spec["estimator"]
    if estimator not in ESTIMATORS:
        raise _error(
            source, "estimator", f"unknown estimator {estimator!r}; known {sorted(ESTIMATORS)}"
        )
    valid = set(ESTIMATORS[estimator]().get_params())
    fixed = spec.get("fixed_params") or {}
    space = spec.get("search_space") or {}
    for section, content in (("fixed_params", fixed), ("search_space", space)):
        if not isinstance(content, Mapping):
            raise _error(source, section, "must be a mapping")
        for name in content:
            if name == "random_state":
                raise _error(source, f"{section}.random_state", "set by the seed, not by the spec")
            if name not in valid:
                raise _error(source, f"{section}.{name}", f"not a parameter of {estimator}")
    overlap = sorted(set(fixed) & set(space))
    if overlap:
        raise _error(source, f"search_space.{overlap[0]}", "also set in fixed_params")
    parsed: dict[str, list[Any] | ParamRange] = {}
    for name, value in space.items():
        key = f"search_space.{name}"
        if isinstance(value, Mapping):
            parsed[name] = _parse_range(source, key, value)
        elif isinstance(value, list) and value:
            parsed[name] = list(value)
        else:
            raise _error(source, key, "must be a non-empty list or a {low, high, log} range")
    return ModelFamily(
        name=spec["family"],
        estimator=estimator,
        fixed_params=dict(fixed),
        search_space=parsed,
        description=str(spec.get("description", "")),
        source=source,
    )


def _read_documents(text: str, source: str) -> list[Any]:
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc


def _check_unique(families: Sequence[ModelFamily]) -> list[ModelFamily]:
    seen: dict[str, str] = {}
    for fam in families:
        if fam.name in seen:
            raise ConfigError(
                f"{fam.source}: key 'family': {fam.name!r} already defined in {seen[fam.name]}"
            )
        seen[fam.name] = fam.source
    return list(families)


def load_model_families(paths_or_dir: str | Path | Iterable[str | Path]) -> list[ModelFamily]:
    """Read model-family specs from YAML files.

    Parameters
    ----------
    paths_or_dir : path or iterable of paths
        A folder (every ``*.yaml`` / ``*.yml`` in it, sorted by name), one
        file, or several files. A file may hold several YAML documents.

    Returns
    -------
    list of ModelFamily
        In file order, then document order.

    Raises
    ------
    ConfigError
        Missing files, invalid YAML, unknown keys, unknown estimators or
        parameters, unbounded ranges, duplicate family names.
    """
    if isinstance(paths_or_dir, str | Path):
        root = Path(paths_or_dir)
        if root.is_dir():
            paths = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
            if not paths:
                raise ConfigError(f"{root}: no model-family specs (*.yaml) in this folder")
        else:
            paths = [root]
    else:
        paths = [Path(p) for p in paths_or_dir]
    families: list[ModelFamily] = []
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"{path}: model-family spec not found")
        text = path.read_text(encoding="utf-8")
        families.extend(_parse_family(doc, str(path)) for doc in _read_documents(text, str(path)))
    return _check_unique(families)


def default_model_families() -> list[ModelFamily]:
    """Return the families of the shipped ``models/`` folder, sorted by file name."""
    folder = resources.files(SHIPPED_FAMILIES)
    families: list[ModelFamily] = []
    for spec in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if spec.name.endswith((".yaml", ".yml")):
            source = f"models/{spec.name}"
            text = spec.read_text(encoding="utf-8")
            families.extend(_parse_family(doc, source) for doc in _read_documents(text, source))
    return _check_unique(families)


def family_by_name(name: str, families: Sequence[ModelFamily] | None = None) -> ModelFamily:
    """Return the family called ``name`` (among the defaults unless given)."""
    pool = default_model_families() if families is None else families
    for fam in pool:
        if fam.name == name:
            return fam
    raise ConfigError(f"unknown model family {name!r}; known {[f.name for f in pool]}")
