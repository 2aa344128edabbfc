"""Package discovery.

The contract (``data_schema/``), the job recipes (``pipelines/``) and the model
families (``models/``) live in top-level folders (the design card's layout);
``relapse_ml/data_schema``, ``relapse_ml/pipelines`` and
``relapse_ml/model_families`` are symbolic links to them, so the package reads
them with ``importlib.resources`` both from an installed wheel (where the files
are copied in) and from a source checkout: one copy of each.
"""

from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["relapse_ml", "relapse_ml.*"]))
