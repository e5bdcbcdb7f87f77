"""Small numeric helpers shared by the recipes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from openpersonalize.engine.base import FloatArray, History, IntArray, TrainingData


def user_item_matrix(data: TrainingData, *, binary: bool = True) -> sp.csr_matrix:
    """Users × items CSR matrix, float32, shape (n_users, n_items).

    ``binary``: 1.0 where the user interacted with the item at least once (weights ignored);
    otherwise the sum of interaction weights.
    """
    values = np.ones(data.n_interactions, dtype=np.float32) if binary else data.weight
    matrix = sp.csr_matrix(
        (values.astype(np.float32), (data.user_idx, data.item_idx)),
        shape=(data.n_users, data.n_items),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    if binary:
        matrix.data[:] = 1.0
    return matrix


def item_popularity(data: TrainingData) -> FloatArray:
    """Sum of interaction weights per item: shape (n_items,), float32."""
    counts = np.bincount(data.item_idx, weights=data.weight, minlength=data.n_items)
    return counts.astype(np.float32)


def popularity_scores(popularity: FloatArray) -> FloatArray:
    """Popularity rescaled to [0, 1): shape (n_items,), float32. Used as the fallback ranking."""
    top = float(popularity.max()) if popularity.size else 0.0
    if top <= 0.0:
        return np.zeros_like(popularity, dtype=np.float32)
    return (0.999 * popularity / top).astype(np.float32)


def broadcast(row: FloatArray, batch: int) -> FloatArray:
    """The same score row for every query: shape (batch, len(row)), float32 (a fresh copy)."""
    return np.tile(row.astype(np.float32, copy=False), (batch, 1))


def history_items(histories: Sequence[History]) -> list[IntArray]:
    return [h.item_idx for h in histories]


def as_index_array(item_idx: IntArray | Sequence[int]) -> IntArray:
    return np.asarray(item_idx, dtype=np.int64).reshape(-1)


def top_k_rows(dense: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """Per row, the ``k`` largest finite positive entries, best first; ties go to the lower index.

    ``dense`` has shape (b, n). Returns (indices, scores) of shape (b, k'), k' = min(k, n), with
    index -1 / score 0 padding where a row has fewer than k' positive entries.
    """
    b, n = dense.shape
    k = min(k, n)
    if k == 0 or b == 0:
        return np.zeros((b, k), dtype=np.int64), np.zeros((b, k), dtype=np.float32)
    values = np.where(np.isfinite(dense) & (dense > 0), dense, 0).astype(np.float32)
    kth = -np.partition(-values, k - 1, axis=1)[:, k - 1 : k]  # (b, 1) k-th largest value
    above = values > kth
    ties = values == kth
    # Among entries equal to the k-th value, keep the lowest indices that still fit.
    room = k - above.sum(axis=1, keepdims=True)
    chosen = above | (ties & (np.cumsum(ties, axis=1) <= room))
    rows, cols = np.nonzero(chosen)
    vals = values[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    counts = np.bincount(rows, minlength=b)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    slot = np.arange(rows.shape[0]) - starts[rows]
    idx = np.full((b, k), -1, dtype=np.int64)
    out = np.zeros((b, k), dtype=np.float32)
    idx[rows, slot] = cols
    out[rows, slot] = vals
    idx[out <= 0] = -1
    out[out <= 0] = 0.0
    return idx, out


def csr_from_topk(idx: IntArray, vals: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Neighbour lists (rows of ``idx``, -1 padded) as CSR triple (indptr, indices, scores)."""
    keep = idx >= 0
    counts = keep.sum(axis=1)
    indptr = np.zeros(idx.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, idx[keep].astype(np.int64), vals[keep].astype(np.float32)


def pad_vector(vec: FloatArray, n: int) -> FloatArray:
    """``vec`` zero-padded to length ``n`` (float32)."""
    out = np.zeros(n, dtype=np.float32)
    out[: vec.shape[0]] = vec
    return out


def truncated_svd(
    matrix: sp.csr_matrix, rank: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rank-``rank`` SVD of a sparse (m, n) matrix: U (m, r), s (r,), Vt (r, n), float32.

    Dense LAPACK for small matrices, ARPACK (seeded start vector from ``rng``) otherwise;
    singular values in descending order; r = min(rank, m, n) (ARPACK needs r < min(m, n)).
    Signs are fixed so the largest-magnitude entry of each right vector is positive, making the
    result deterministic.
    """
    m, n = matrix.shape
    r = max(0, min(rank, m, n))
    if r == 0:
        return (np.zeros((m, 0), np.float32), np.zeros(0, np.float32), np.zeros((0, n), np.float32))
    if min(m, n) <= 300 or r >= min(m, n) // 2:
        u, s, vt = np.linalg.svd(matrix.toarray().astype(np.float64), full_matrices=False)
        u, s, vt = u[:, :r], s[:r], vt[:r]
    else:
        from scipy.sparse.linalg import svds

        v0 = rng.standard_normal(min(m, n))
        u, s, vt = svds(matrix.astype(np.float64), k=r, v0=v0, random_state=0)
        order = np.argsort(-s)
        u, s, vt = u[:, order], s[order], vt[order]
    pivot = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), pivot])
    signs[signs == 0] = 1.0
    return (
        (u * signs).astype(np.float32),
        s.astype(np.float32),
        (vt * signs[:, None]).astype(np.float32),
    )


def affinity_factors(
    matrix: sp.csr_matrix, rank: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Rank-``rank`` factors of a users × columns matrix: P (n_users, r), Q (n_columns, r)."""
    u, s, vt = truncated_svd(matrix, rank, rng)
    return (u * s[None, :]).astype(np.float32), np.ascontiguousarray(vt.T, dtype=np.float32)


def confidence_matrix(data: TrainingData) -> sp.csr_matrix:
    """log1p of the summed interaction weights: users × items CSR float32."""
    matrix = user_item_matrix(data, binary=False)
    matrix.data = np.log1p(matrix.data).astype(np.float32)
    return matrix


def l2_normalize_rows(matrix: FloatArray) -> FloatArray:
    """Rows scaled to unit L2 norm (zero rows stay zero): same shape, float32."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: FloatArray = (matrix / norms).astype(np.float32)
    return out
