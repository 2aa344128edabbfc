"""Hand-made hostile ``.skops`` archives: each would write a marker file if any code ran."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path


def _json(value) -> dict:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def _tuple(*items: dict) -> dict:
    return {
        "__class__": "tuple",
        "__module__": "builtins",
        "__loader__": "TupleNode",
        "content": list(items),
    }


def empty_dict_node() -> dict:
    """The schema node of an empty ``dict``."""
    return {
        "__class__": "dict",
        "__module__": "builtins",
        "__loader__": "DictNode",
        "content": {},
        "key_types": {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [],
        },
    }


def payloads(marker: Path) -> dict[str, tuple[str, str, dict]]:
    """``name -> (module, callable, args node)``: calling it creates ``marker``."""
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('code ran')"
    return {
        "builtins.exec": ("builtins", "exec", _tuple(_json(code))),
        "builtins.eval": (
            "builtins",
            "eval",
            _tuple(_json(f"exec({code!r})")),
        ),
        # numpy's test helper exec()s a string: a numpy. prefix is not a safe rule.
        "numpy.testing._private.utils.runstring": (
            "numpy.testing._private.utils",
            "runstring",
            _tuple(_json(code), empty_dict_node()),
        ),
        # scipy writes a file of our choosing: a scipy. prefix is not safe either.
        "scipy.io.matlab._mio.savemat": (
            "scipy.io.matlab._mio",
            "savemat",
            _tuple(_json(str(marker)), empty_dict_node()),
        ),
    }


def reduce_node(module: str, name: str, args: dict, loader: str) -> dict:
    """A skops node that calls ``module.name(*args)`` when constructed."""
    if loader == "LossNode":  # scikit-learn's reduce node: constructor named by the node
        return {
            "__class__": name,
            "__module__": module,
            "__loader__": "LossNode",
            "__reduce__": {"args": args},
            "content": empty_dict_node(),
        }
    return {"__class__": name, "__module__": module, "__loader__": loader, "content": args}


def write_archive(path: Path, root: dict) -> Path:
    """Write ``root`` as a skops archive (protocol 2, as skops 0.16 writes)."""
    state = {**root, "protocol": 2, "_skops_version": "0.16.0"}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(state))
    return path


def hostile_archive(
    path: Path, marker: Path, target: str, loader: str = "ConstructorFromReduceNode"
) -> Path:
    """An archive that reaches ``target`` (a key of :func:`payloads`) through a reduce node."""
    module, name, args = payloads(marker)[target]
    return write_archive(path, reduce_node(module, name, args, loader))
