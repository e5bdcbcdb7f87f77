"""aws-user-personalization-v2: user-personalization plus item metadata.

On top of the v1 blend (collaborative + sequence + repeat + popularity), v2 adds a content part:
items are described by their categorical metadata (multi-value split on ``|``) and bucketed numeric
columns, one-hot encoded, IDF-weighted and L2-normalised; a user's recency-weighted history profile
is matched against every item, so items with few or no interactions still get a score. Its weight
is tuned on the validation split like the other parts. ``apply_recency_bias`` switches the recency
weighting of the history on or off (v1's ``recency_mask``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from openpersonalize.engine.base import TrainingData
from openpersonalize.engine.recipes.user_personalization import UserPersonalization, parse_bool

NUMERIC_BUCKETS = 10


def item_metadata_features(data: TrainingData) -> sp.csr_matrix | None:
    """(n_items, n_features) CSR float32 of IDF-weighted one-hot metadata, rows L2-normalised.

    Categorical columns contribute one feature per distinct value; numeric columns one feature per
    quantile bucket (missing values: no feature). None when the data has no usable metadata.
    """
    n = data.n_items
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    n_features = 0
    for name, column in data.item_columns.items():
        if name in data.item_categorical:
            vocab: dict[str, int] = {}
            r: list[int] = []
            c: list[int] = []
            for i, values in enumerate(column):
                for v in values if isinstance(values, list | tuple) else [values]:
                    if v is None or v == "":
                        continue
                    r.append(i)
                    c.append(n_features + vocab.setdefault(str(v), len(vocab)))
            rows.append(np.asarray(r, dtype=np.int64))
            cols.append(np.asarray(c, dtype=np.int64))
            n_features += len(vocab)
        elif name not in data.item_textual and column.dtype.kind == "f":
            values = column.astype(np.float64)
            ok = np.flatnonzero(~np.isnan(values))
            if ok.shape[0] == 0:
                continue
            edges = np.unique(np.quantile(values[ok], np.linspace(0, 1, NUMERIC_BUCKETS + 1)[1:-1]))
            bucket = np.searchsorted(edges, values[ok], side="right")
            rows.append(ok.astype(np.int64))
            cols.append(n_features + bucket.astype(np.int64))
            n_features += edges.shape[0] + 1
    if n_features == 0:
        return None
    r_all, c_all = np.concatenate(rows), np.concatenate(cols)
    onehot = sp.csr_matrix(
        (np.ones(r_all.shape[0], dtype=np.float32), (r_all, c_all)), shape=(n, n_features)
    )
    onehot.sum_duplicates()
    onehot.data[:] = 1.0
    df = np.asarray(onehot.sum(axis=0)).ravel()
    idf = np.log((n + 1.0) / (df + 1.0)).astype(np.float32)
    weighted = (onehot @ sp.diags(idf)).tocsr().astype(np.float32)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    out: sp.csr_matrix = (sp.diags(inv.astype(np.float32)) @ weighted).tocsr().astype(np.float32)
    return out


class UserPersonalizationV2(UserPersonalization):
    recipe_name: ClassVar[str] = "aws-user-personalization-v2"
    recipe_type: ClassVar[str] = "USER_PERSONALIZATION"
    default_hyperparameters: ClassVar[dict[str, str]] = {
        "apply_recency_bias": "true",
        "hidden_dimension": "149",
        "bptt": "32",
    }

    @staticmethod
    def _recency(hp: Mapping[str, str]) -> bool:
        return parse_bool(hp.get("apply_recency_bias", "true"))

    @staticmethod
    def _default_metadata_weight() -> float:
        return 0.1

    @classmethod
    def _item_features(cls, data: TrainingData) -> sp.csr_matrix | None:
        return item_metadata_features(data)
