"""cleaner: strip boilerplate from scraped web pages, and say what every line is.

>>> import cleaner
>>> text = "Home | World | Sport\\n\\nThe council approved the new budget on Tuesday after a long debate."
>>> cleaner.clean(text)
'The council approved the new budget on Tuesday after a long debate.'
>>> [line.label for line in cleaner.label(text)]
['boilerplate', 'blank', 'body']
"""

from cleaner.api import Cleaner, LabeledLine, clean, label
from cleaner.model import ModelError

__all__ = ["Cleaner", "LabeledLine", "ModelError", "clean", "label"]
__version__ = "0.1.0"
