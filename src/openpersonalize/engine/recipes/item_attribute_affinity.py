"""aws-item-attribute-affinity (USER_SEGMENTATION): users most likely to like items with given
attribute values (e.g. ``GENRE = "Comedy"``).

Same factor model as item-affinity, fitted on the user × item matrix augmented with one column
per non-textual attribute value (categorical ``COLUMN=value``, numeric ``COLUMN#bucket``), where a
user's entry is the share of their interactions on items with that value. The attribute columns
give every attribute value its own vector, so rare values and items with few interactions are
still placed by what their users like. A query for a set of attribute values scores users against
the mean of those vectors; item-set queries work as in item-affinity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import FloatArray, JsonDict, TrainingData
from openpersonalize.engine.hyperparameters import get_int
from openpersonalize.engine.item_features import (
    categorical_docs,
    numeric_columns,
    numeric_docs,
)
from openpersonalize.engine.recipes._common import affinity_factors, confidence_matrix
from openpersonalize.engine.recipes.item_affinity import ItemAffinity


def attribute_matrix(data: TrainingData) -> tuple[sp.csr_matrix, list[str]]:
    """Binary items × attribute-values CSR (n_items, n_values) float32, and the value names."""
    docs = categorical_docs(data, data.item_categorical)
    for i, extra in enumerate(numeric_docs(data, numeric_columns(data))):
        docs[i].extend(extra)
    names = sorted({term for doc in docs for term in doc})
    column = {name: j for j, name in enumerate(names)}
    rows = [i for i, doc in enumerate(docs) for _ in set(doc)]
    cols = [column[t] for doc in docs for t in set(doc)]
    matrix = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))),
        shape=(data.n_items, len(names)),
        dtype=np.float32,
    )
    return matrix, names


class ItemAttributeAffinity(ItemAffinity):
    recipe_name: ClassVar[str] = "aws-item-attribute-affinity"
    recipe_type: ClassVar[str] = "USER_SEGMENTATION"

    def __init__(
        self,
        items: Vocabulary,
        users: Vocabulary,
        user_factors: FloatArray,
        item_factors: FloatArray,
        attribute_factors: FloatArray,
        attribute_names: Sequence[str],
    ) -> None:
        """``attribute_factors`` (n_values, r) float32 aligned with ``attribute_names``."""
        super().__init__(items, users, user_factors, item_factors)
        self.attribute_factors = attribute_factors
        self.attribute_names = list(attribute_names)
        self._attribute_index = {name: j for j, name in enumerate(self.attribute_names)}

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> ItemAttributeAffinity:
        from openpersonalize.engine.training_data import TrainingDataError

        attributes, names = attribute_matrix(data)
        if not names:
            raise TrainingDataError(
                "Item-Attribute-Affinity requires an Items dataset with at least one "
                "non-textual metadata column."
            )
        confidence = confidence_matrix(data)
        binary = confidence.copy()
        binary.data[:] = 1.0
        profile = sp.csr_matrix(binary @ attributes)
        lengths = np.asarray(binary.sum(axis=1)).ravel()
        profile = sp.csr_matrix(
            sp.diags(np.where(lengths > 0, 1.0 / np.maximum(lengths, 1), 0.0).astype(np.float32))
            @ profile
        )
        augmented = sp.csr_matrix(sp.hstack([confidence, profile], format="csr"))
        rank = get_int(hyperparameters, cls.recipe_name, "hidden_dimension")
        user_factors, column_factors = affinity_factors(augmented, rank, rng)
        return cls(
            data.items,
            data.users,
            user_factors,
            column_factors[: data.n_items],
            column_factors[data.n_items :],
            names,
        )

    def attribute_key(self, column: str, value: str) -> str:
        return f"{column}={value.strip().lower()}"

    def score_users_for_attributes(
        self, queries: Sequence[Sequence[tuple[str, str]]]
    ) -> FloatArray:
        """Each query is a list of (column, value) pairs (categorical values); the result is the
        affinity of every user for the mean of those values' vectors: (len(queries), n_users).
        Values the model has never seen are ignored; a query of only unknown values scores 0."""
        vectors = np.zeros((len(queries), self.attribute_factors.shape[1]), dtype=np.float32)
        for row, pairs in enumerate(queries):
            idx = [self._attribute_index.get(self.attribute_key(c, v), -1) for c, v in pairs]
            known = [j for j in idx if j >= 0]
            if known:
                vectors[row] = self.attribute_factors[known].mean(axis=0)
        return self._score(vectors)

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        arrays, meta = super().to_arrays()
        arrays["attribute_factors"] = self.attribute_factors
        arrays["attribute_names"] = np.array(self.attribute_names, dtype=str)
        return arrays, meta

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> ItemAttributeAffinity:
        return cls(
            items,
            users,
            np.asarray(arrays["user_factors"], dtype=np.float32),
            np.asarray(arrays["item_factors"], dtype=np.float32),
            np.asarray(arrays["attribute_factors"], dtype=np.float32),
            [str(x) for x in arrays["attribute_names"]],
        )
