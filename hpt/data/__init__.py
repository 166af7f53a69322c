"""Datasets: the TalkingData generator and feature sets, scikit-learn's bundled sets, CSV/Parquet."""

from hpt.data._load import SKLEARN_DATASETS, Dataset, check_dataset, data_home, load_dataset

__all__ = ["SKLEARN_DATASETS", "Dataset", "check_dataset", "data_home", "load_dataset"]
