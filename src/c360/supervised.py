"""Supervised scoring: the record-linkage toolkit's classifiers on c360's comparison vectors.

When some labelled pairs exist, a classifier from ``recordlinkage``
(logistic regression, naive Bayes, SVM) can be trained on the same comparison
levels the Fellegi-Sunter model uses; ECM (its unsupervised EM) is offered
too, for comparison. For the supervised methods levels are one-hot encoded
(a null level sets no feature); ECM, which models one Bernoulli variable per
feature and class, gets one "agrees" indicator per comparison (any level above
"else"). Features that are constant over the training pairs are dropped.

``recordlinkage`` pins pandas < 3 and is no longer maintained: it lives behind
the ``ml`` extra (``pip install 'c360[ml]'``) and is imported only here, and
pandas is touched only at this edge.

Examples:
    >>> import numpy as np
    >>> gamma = np.array([[1, 1], [1, 0], [0, 0], [0, 1]] * 20, dtype=np.int8)
    >>> y = np.array([1, 1, 0, 0] * 20)
    >>> clf = fit_classifier(gamma, y, [2, 2], method="logistic")
    >>> _, p = clf.score_levels(np.array([[1, 1], [0, 0]], dtype=np.int8))
    >>> bool(p[0] > 0.5 > p[1])
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from c360._optional import import_optional
from c360.exceptions import ModelError

__all__ = ["ClassifierModel", "Method", "fit_classifier", "one_hot"]

Method = Literal["logistic", "naive_bayes", "svm", "ecm"]


def one_hot(gamma: npt.NDArray[np.int8], n_levels: Sequence[int]) -> npt.NDArray[np.int8]:
    """Binary features: one column per (comparison, level); nulls set none.

    Examples:
        >>> one_hot(np.array([[1, -1]], dtype=np.int8), [2, 3]).tolist()
        [[0, 1, 0, 0, 0]]
    """
    cols = []
    for k, n in enumerate(n_levels):
        lv = gamma[:, k]
        for level in range(n):
            cols.append((lv == level).astype(np.int8))
    return np.column_stack(cols) if cols else np.zeros((gamma.shape[0], 0), dtype=np.int8)


@dataclass(slots=True)
class ClassifierModel:
    """A fitted recordlinkage classifier over one-hot comparison levels."""

    method: Method
    n_levels: tuple[int, ...]
    classifier: Any
    features: npt.NDArray[np.bool_] | None = None

    def _frame(self, gamma: npt.NDArray[np.int8]) -> Any:
        pd = import_optional("pandas")
        # ECM models each feature as one Bernoulli per class: give it the
        # classic "agrees" indicator (any level above 'else') per comparison
        x = (gamma > 0).astype(np.int8) if self.method == "ecm" else one_hot(gamma, self.n_levels)
        if self.features is not None:
            x = x[:, self.features]
        index = pd.MultiIndex.from_arrays([np.arange(x.shape[0]), np.arange(x.shape[0])])
        return pd.DataFrame(x, index=index, columns=[f"f{i}" for i in range(x.shape[1])])

    def score_levels(
        self, gamma: npt.NDArray[np.int8], data: Any = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Match weight (log2 odds) and probability per pair, like the Fellegi-Sunter model."""
        frame = self._frame(gamma)
        if self.method == "svm":
            decision = self.classifier.kernel.decision_function(frame.values)
            prob = 1.0 / (1.0 + np.exp(-np.asarray(decision, dtype=np.float64)))
        else:
            prob = np.asarray(self.classifier.prob(frame), dtype=np.float64)
        if not np.isfinite(prob).all():
            raise ModelError(
                f"the {self.method} classifier produced non-finite probabilities",
                hint="use the default Fellegi-Sunter model or another method",
            )
        prob = np.clip(prob, 1e-12, 1 - 1e-12)
        return np.log2(prob / (1 - prob)), prob


def fit_classifier(
    gamma: npt.NDArray[np.int8],
    labels: npt.NDArray[np.integer[Any]] | None,
    n_levels: Sequence[int],
    *,
    method: Method = "logistic",
) -> ClassifierModel:
    """Train a recordlinkage classifier on comparison levels.

    Args:
        gamma: level matrix of the training pairs.
        labels: 1 for a true match, 0 otherwise (ignored by ``ecm``).
        n_levels: number of levels of each comparison.
        method: ``logistic``, ``naive_bayes``, ``svm`` or ``ecm``.

    Raises:
        ModelError: labels missing or of one class only for a supervised method.
    """
    rl = import_optional("recordlinkage")
    model = ClassifierModel(method, tuple(n_levels), None)
    # features constant over the training pairs carry no information and make
    # ECM's log-probabilities infinite
    raw = (gamma > 0).astype(np.int8) if method == "ecm" else one_hot(gamma, n_levels)
    model.features = raw.min(axis=0) != raw.max(axis=0)
    x = model._frame(gamma)
    if method == "ecm":
        clf = rl.ECMClassifier(binarize=None)
        clf.fit(x)
        model.classifier = clf
        return model
    if labels is None:
        raise ModelError(f"method {method!r} needs labelled pairs")
    y = np.asarray(labels).astype(bool)
    if y.all() or not y.any():
        raise ModelError(
            f"labelled pairs hold one class only ({int(y.sum())} matches of {y.size})",
            hint="label some non-matching pairs too",
        )
    matches = x.index[y]
    classes = {
        "logistic": rl.LogisticRegressionClassifier,
        "naive_bayes": rl.NaiveBayesClassifier,
        "svm": rl.SVMClassifier,
    }
    if method not in classes:
        raise ModelError(f"unknown method {method!r}", hint="logistic, naive_bayes, svm or ecm")
    clf = classes[method]()
    clf.fit(x, matches)
    model.classifier = clf
    return model
