"""Imports run one way: a module imports only from its own layer or the layers below.

The layers, bottom to top (ARCHITECTURE.md describes each):

0. ``errors``, ``io``, ``_version``: typed errors, file I/O, the package version
1. ``schema``, ``validation``: the data contract and its checks
2. ``task``, ``features``, ``simulate``: the prediction task, features, the simulator
3. ``modeling``, ``evaluation``: estimators, selection, calibration; metrics
4. ``artifact``: the trained model, its training reference, the file format
5. ``explain``: SHAP of the served risk, drivers, out-of-distribution checks
6. ``serving``: the one scoring function and REST request handling
7. ``training``: the training steps (above scoring: it explains its own model)
8. ``tracking``, ``batch``, ``report``: MLflow, batch engines, clinician report, model card
9. ``workflows``: the only layer that reads files and runs jobs
10. ``config``, ``cli``, ``__main__``, the package's ``__init__``
"""

from __future__ import annotations

import ast
from pathlib import Path

import relapse_ml

LAYERS = [
    {"errors", "io", "_version"},
    {"schema", "validation"},
    {"task", "features", "simulate"},
    {"modeling", "evaluation"},
    {"artifact"},
    {"explain"},
    {"serving"},
    {"training"},
    {"tracking", "batch", "report"},
    {"workflows"},
    {"config", "cli", "__main__", "__init__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
PACKAGE = Path(relapse_ml.__file__).parent


def _unit(module: str) -> str:
    """The top-level unit of ``relapse_ml.x.y``: ``x`` (``__init__`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def import_edges(package: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """Every ``relapse_ml`` import (at any depth: module level or inside functions)."""
    edges = []
    for path in sorted(package.rglob("*.py")):
        name = _module_name(path, package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
                if node.module == "relapse_ml":
                    targets = [f"relapse_ml.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target == "relapse_ml" or target.startswith("relapse_ml."):
                    edges.append((name, target, node.lineno))
    return edges


def test_every_unit_of_the_package_has_a_layer():
    units = {_unit(_module_name(path)) for path in PACKAGE.rglob("*.py")}
    assert units - set(RANK) == set()
    assert len(units) > 15


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """Imports from a higher layer than the importing module's."""
    return [
        f"{source} (line {line}) imports {target}"
        for source, target, line in import_edges(package)
        if RANK[_unit(target)] > RANK[_unit(source)]
    ]


def test_no_import_goes_up_a_layer():
    assert upward_imports() == []


def test_no_relative_imports():
    # Relative imports would hide edges from the check above.
    relative = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert relative == []


def test_the_check_sees_an_upward_import_even_inside_a_function(tmp_path):
    package = tmp_path / "relapse_ml"
    (package / "explain").mkdir(parents=True)
    (package / "explain" / "drivers.py").write_text(
        "import numpy\nfrom relapse_ml.artifact import load_model\n\n"
        "def f():\n    from relapse_ml.serving.scoring import score_patients\n"
    )
    (package / "io.py").write_text("from relapse_ml import cli\n")
    assert upward_imports(package) == [
        "relapse_ml.explain.drivers (line 5) imports relapse_ml.serving.scoring",
        "relapse_ml.io (line 1) imports relapse_ml.cli",
    ]
