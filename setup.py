"""Package discovery.

The contract lives in the top-level ``data_schema/`` folder (the design card's
layout); ``relapse_ml/data_schema`` is a symbolic link to it, so the package
reads it with ``importlib.resources`` as ``relapse_ml.data_schema`` both from an
installed wheel (where the files are copied in) and from a source checkout.
"""

from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["relapse_ml", "relapse_ml.*"]))
