"""Datasets: where the files come from (sources) apart from how they are read (readers).

Sources (``dataset.source``): ``local``, ``generated`` (the TalkingData generator), ``sklearn``,
``azure_blob``; each offers ``check`` / ``fetch`` / ``fingerprint`` (:class:`DataSource`).
Readers: the TalkingData feature sets, CSV/Parquet tables, scikit-learn's sets. Prepared matrices
are cached under :func:`data_home` and memory-mapped.
"""

from hpt.data._load import SKLEARN_DATASETS, Dataset, check_dataset, data_home, load_dataset
from hpt.data._sources import SOURCES, DataSource, source_for

__all__ = [
    "SKLEARN_DATASETS",
    "SOURCES",
    "DataSource",
    "Dataset",
    "check_dataset",
    "data_home",
    "load_dataset",
    "source_for",
]
