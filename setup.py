"""Package discovery that pyproject.toml alone cannot express.

The contract lives in the top-level ``data_schema/`` folder (the design card's
layout) and must ship inside the wheel, where the code reads it with
``importlib.resources`` as the ``relapse_ml.data_schema`` package.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["relapse_ml", "relapse_ml.*"]), "relapse_ml.data_schema"],
    package_dir={"relapse_ml.data_schema": "data_schema"},
)
