"""Item metadata as a sparse feature matrix, for recipes that relate items by their attributes.

Three kinds of block, each TF-IDF weighted and L2-normalised per item, then concatenated and
normalised again so the dot product of two rows is a cosine similarity in [0, 1]:

- categorical columns: one term per ``COLUMN=value`` (multi-value lists count each value);
- numeric columns: the item's quantile bucket (up to :data:`NUMERIC_BUCKETS`) as one term;
- textual columns and the ``itemName`` column: lower-cased word tokens.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from openpersonalize.engine.base import TrainingData

NUMERIC_BUCKETS = 10
MAX_TEXT_TERMS = 20_000
_TOKEN = re.compile(r"[^\W_]{2,}", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "your",
        "our",
        "you",
        "we",
        "they",
        "their",
    ]
)
_RESERVED = frozenset({"ITEM_ID", "CREATION_TIMESTAMP"})


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


def _tfidf_block(
    docs: list[list[str]], max_terms: int, min_df: int
) -> tuple[sp.csr_matrix, list[str]]:
    """Docs (lists of terms) → CSR (n_docs, n_terms) float32 TF-IDF with unit rows."""
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
    terms = sorted((t for t, c in df.items() if c >= min_df), key=lambda t: (-df[t], t))[:max_terms]
    terms.sort()
    column = {t: i for i, t in enumerate(terms)}
    n = len(docs)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for row, doc in enumerate(docs):
        for term, tf in Counter(doc).items():
            col = column.get(term)
            if col is not None:
                rows.append(row)
                cols.append(col)
                vals.append((1.0 + math.log(tf)) * (math.log((1 + n) / (1 + df[term])) + 1.0))
    matrix = sp.csr_matrix(
        (np.asarray(vals, np.float32), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))),
        shape=(n, len(terms)),
        dtype=np.float32,
    )
    return _normalize(matrix), terms


def _normalize(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ matrix)


def _values(cell: object) -> Iterable[str]:
    if cell is None:
        return ()
    if isinstance(cell, str):
        return (v for v in cell.split("|") if v)
    if isinstance(cell, float) and math.isnan(cell):
        return ()
    if isinstance(cell, Iterable):
        return (str(v) for v in cell if v is not None and str(v))
    return (str(cell),)


def categorical_docs(data: TrainingData, columns: Iterable[str]) -> list[list[str]]:
    docs: list[list[str]] = [[] for _ in range(data.n_items)]
    for name in columns:
        column = data.item_columns.get(name)
        if column is None:
            continue
        for i, cell in enumerate(column[: data.n_items]):
            docs[i].extend(f"{name}={v.strip().lower()}" for v in _values(cell))
    return docs


def numeric_columns(data: TrainingData) -> list[str]:
    skip = set(data.item_categorical) | set(data.item_textual) | _RESERVED
    if data.item_name_column:
        skip.add(data.item_name_column)
    return [
        name
        for name, column in data.item_columns.items()
        if name not in skip and np.asarray(column).dtype.kind in "fiub"
    ]


def numeric_docs(data: TrainingData, columns: Iterable[str]) -> list[list[str]]:
    docs: list[list[str]] = [[] for _ in range(data.n_items)]
    for name in columns:
        values = np.asarray(data.item_columns[name], dtype=np.float64)[: data.n_items]
        present = np.isfinite(values)
        if not present.any():
            continue
        edges = np.unique(np.quantile(values[present], np.linspace(0, 1, NUMERIC_BUCKETS + 1)))
        buckets = np.searchsorted(edges[1:-1], values, side="right")
        for i in np.flatnonzero(present):
            docs[i].append(f"{name}#{int(buckets[i])}")
    return docs


def text_docs(data: TrainingData) -> list[list[str]]:
    columns = list(data.item_textual)
    if data.item_name_column and data.item_name_column not in columns:
        columns.append(data.item_name_column)
    docs: list[list[str]] = [[] for _ in range(data.n_items)]
    for name in columns:
        column = data.item_columns.get(name)
        if column is None:
            continue
        for i, cell in enumerate(column[: data.n_items]):
            if isinstance(cell, str):
                docs[i].extend(tokenize(cell))
    return docs


def item_feature_matrix(data: TrainingData) -> tuple[sp.csr_matrix, list[str]]:
    """All metadata features: CSR (n_items, n_features) float32 with unit (or zero) rows.

    Also returns the feature names (``COL=value``, ``COL#bucket`` or a word), aligned with columns.
    """
    blocks: list[sp.csr_matrix] = []
    names: list[str] = []
    min_df = 2 if data.n_items >= 50 else 1
    for docs, max_terms, df in (
        (categorical_docs(data, data.item_categorical), 1_000_000, 1),
        (numeric_docs(data, numeric_columns(data)), 1_000_000, 1),
        (text_docs(data), MAX_TEXT_TERMS, min_df),
    ):
        if any(docs):
            block, terms = _tfidf_block(docs, max_terms, df)
            blocks.append(block)
            names.extend(terms)
    if not blocks:
        return sp.csr_matrix((data.n_items, 0), dtype=np.float32), []
    return _normalize(sp.csr_matrix(sp.hstack(blocks, format="csr", dtype=np.float32))), names
