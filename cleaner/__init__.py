"""cleaner: strip boilerplate from scraped web pages, and say what every line is.

>>> import cleaner
>>> text = "Home | World | Sport\\n\\nThe council approved the new budget on Tuesday after a long debate."
>>> cleaner.clean(text)
'The council approved the new budget on Tuesday after a long debate.'
>>> [line.label for line in cleaner.label(text)]
['boilerplate', 'blank', 'body']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cleaner.api import Cleaner, LabeledLine, clean, label
    from cleaner.model import ModelError

__all__ = ["Cleaner", "LabeledLine", "ModelError", "clean", "label"]
__version__ = "0.1.0"

# The public names load on first use: `python -m cleaner` then starts without numpy, and a
# Ctrl-C while numpy loads reaches the command line, which ends quietly (exit 130).
_HOME = {"Cleaner": "api", "LabeledLine": "api", "clean": "api", "label": "api", "ModelError": "model"}


def _submodules() -> set[str]:
    import pkgutil  # only when a name is missing: not at start-up

    return {module.name for module in pkgutil.iter_modules(__path__)}


def __getattr__(name: str) -> object:
    if name in _HOME:
        value = getattr(importlib.import_module(f"cleaner.{_HOME[name]}"), name)
    elif not name.startswith("_") and name in _submodules():
        # `import cleaner` then `cleaner.api`, as when the package imported its submodules
        value = importlib.import_module(f"cleaner.{name}")
    else:
        raise AttributeError(f"module 'cleaner' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
