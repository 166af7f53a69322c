"""Kaggle's TalkingData Mobile User Demographics data: a generator, a reader, the seed's features.

The seed scenario tunes XGBoost on this data; the real files cannot be downloaded here, so
:func:`generate` writes a synthetic sample with the same files, columns and quirks.

>>> import tempfile
>>> from hpt.data import talkingdata as td
>>> path = td.generate(tempfile.mkdtemp() + "/td", 300, seed=1)
>>> X, y, names = td.build_features(td.load_raw(path), td.SMALL_FEATURE_SETS)
>>> X.shape[0], len(names) == X.shape[1], sorted(set(y)) == list(range(len(set(y))))
(120, True, True)
"""

from hpt.data.talkingdata._at_scale import generate_scale
from hpt.data.talkingdata._features import (
    FEATURE_SETS,
    FRACTION_SETS,
    SMALL_FEATURE_SETS,
    build_features,
    required_tables,
)
from hpt.data.talkingdata._generate import MARKER, generate
from hpt.data.talkingdata._io import COLUMNS, FILES, TABLES, AppEventChunks, find_files, load_raw
from hpt.data.talkingdata._scale import REAL_ROWS
from hpt.data.talkingdata._world import GROUPS

__all__ = [
    "COLUMNS",
    "FEATURE_SETS",
    "FILES",
    "FRACTION_SETS",
    "GROUPS",
    "MARKER",
    "REAL_ROWS",
    "SMALL_FEATURE_SETS",
    "TABLES",
    "AppEventChunks",
    "build_features",
    "find_files",
    "generate",
    "generate_scale",
    "load_raw",
    "required_tables",
]
