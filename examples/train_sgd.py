"""An example training script for ``trainer=script`` (HyperDrive's estimator mode).

hpt passes each hyperparameter as ``--name value``; the script reports its primary metric once per
epoch with ``hpt.log`` (each report is one interval for early termination)::

    hpt trainer=script trainer.script=examples/train_sgd.py metric.primary_metric=accuracy \\
        search_space=sgd sampler=random resources.max_total_runs=12 policy=bandit

Without hpt installed, ``print(f"accuracy={value}")`` reports the same way.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import hpt

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, default=1e-4)
parser.add_argument("--eta0", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=15)
args = parser.parse_args()

X, y = load_digits(return_X_y=True)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_valid = scaler.transform(X_train), scaler.transform(X_valid)
model = SGDClassifier(alpha=args.alpha, eta0=args.eta0, learning_rate="constant", random_state=0)
classes = np.unique(y)
for _ in range(args.epochs):
    model.partial_fit(X_train, y_train, classes=classes)
    hpt.log("accuracy", model.score(X_valid, y_valid))
