"""pytest, whole project: ``cleaner/spark.py`` is read for its doctests only where Spark's
packages are installed (``pip install 'cleaner[spark]'``); without them its import fails on
purpose, with a message saying what to install."""

import importlib.util

collect_ignore = (
    [] if all(importlib.util.find_spec(name) for name in ("pyspark", "pandas", "pyarrow")) else ["cleaner/spark.py"]
)
