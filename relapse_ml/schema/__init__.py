"""The data contract, loaded from the machine-readable files in ``data_schema/``.

Every other module reads tables, columns, units, ranges, markers and mechanism
groups from here; nothing else hard-codes them.
"""

from relapse_ml.schema._contract import (
    ColumnSpec,
    Contract,
    MarkerSpec,
    TableSpec,
    load_contract,
)
from relapse_ml.schema.dictionary import render_data_dictionary

__all__ = [
    "ColumnSpec",
    "Contract",
    "MarkerSpec",
    "TableSpec",
    "load_contract",
    "render_data_dictionary",
]
