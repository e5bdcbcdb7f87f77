"""The factor models behind aws-user-personalization's collaborative part.

- EASE (Steck 2019): closed-form item × item weights, for catalogues small enough to invert a
  Gram matrix (:func:`fit_ease`);
- implicit ALS (Hu, Koren, Volinsky 2008) item factors (:func:`fit_ials`), through the
  ``implicit`` package's CPU solver when it is installed;
- the fold-in of a user's history onto the item factors at scoring time (:func:`fold_in`): the
  user vector iALS would learn for that history, so new events count without retraining.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.sparse as sp

from openpersonalize.engine.base import FloatArray, History, IntArray


def fit_ease(user_items: sp.csr_matrix, l2: float) -> FloatArray:
    """EASE weights for a binary users × m CSR: (m, m) float32 with a zero diagonal."""
    if user_items.shape[1] == 0:
        return np.zeros((0, 0), dtype=np.float32)
    gram = (user_items.T @ user_items).toarray().astype(np.float32)
    gram[np.diag_indices_from(gram)] += np.float32(l2)
    chol, info = scipy.linalg.lapack.spotrf(gram, lower=0, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE Gram matrix not positive definite (info={info})")
    inv, info = scipy.linalg.lapack.spotri(chol, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE inverse failed (info={info})")
    inv = np.triu(inv) + np.triu(inv, 1).T
    weights: FloatArray = (-inv / np.diag(inv)[None, :]).astype(np.float32)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


def fit_ials(
    user_items: sp.csr_matrix,
    factors: int,
    rng: np.random.Generator,
    *,
    l2: float = 0.05,
    alpha: float = 10.0,
    iterations: int = 8,
    init: FloatArray | None = None,
) -> FloatArray:
    """Implicit ALS (Hu et al. 2008) item factors for a binary users × items CSR: (n, k) float32.

    ``init`` (n, k) warm-starts the item factors (e.g. from a model of most of the same data).

    Confidence ``1 + alpha`` on observed pairs, 1 elsewhere. Uses the ``implicit`` package's CPU
    solver (conjugate gradient, float32, OpenMP; seconds per epoch for 10 M pairs) when it is
    installed, else exact least squares in numpy (fine for small data, slow at scale).
    """
    if init is not None and init.shape != (user_items.shape[1], factors):
        init = None
    fast = _fit_ials_implicit(
        user_items, factors, rng, l2=l2, alpha=alpha, iterations=iterations, init=init
    )
    if fast is not None:
        return fast
    n_users, n_items = user_items.shape
    item_factors = (rng.standard_normal((n_items, factors)) * 0.01).astype(np.float32)
    if init is not None:
        item_factors = init.astype(np.float32, copy=True)
    user_factors = np.zeros((n_users, factors), dtype=np.float32)
    item_users = user_items.T.tocsr()
    for _ in range(iterations):
        user_factors = _ials_solve(user_items, item_factors, l2, alpha)
        item_factors = _ials_solve(item_users, user_factors, l2, alpha)
    return item_factors


def _fit_ials_implicit(
    user_items: sp.csr_matrix,
    factors: int,
    rng: np.random.Generator,
    *,
    l2: float,
    alpha: float,
    iterations: int,
    init: FloatArray | None = None,
) -> FloatArray | None:
    """:func:`fit_ials` with ``implicit``'s CPU CG solver; None when the package is missing."""
    try:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    # implicit's confidence is the matrix value (A = YᵀY + Σ (c - 1) y yᵀ + λI, b = Σ c y):
    # values 1 + alpha give the same objective as the numpy solver below.
    conf = user_items.astype(np.float32)
    conf.data[:] = np.float32(1.0 + alpha)
    # implicit parallelises with OpenMP; BLAS threads inside it would oversubscribe the cores.
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=l2,
            alpha=1.0,
            dtype=np.float32,
            use_cg=True,
            iterations=iterations,
            random_state=int(rng.integers(2**31 - 1)),
        )
        if init is not None:
            model.item_factors = init.astype(np.float32, copy=True)
            model.user_factors = np.zeros((conf.shape[0], factors), dtype=np.float32)
        model.fit(conf, show_progress=False)
    out: FloatArray = np.ascontiguousarray(model.item_factors, dtype=np.float32)
    return out


def _ials_solve(rows: sp.csr_matrix, fixed: FloatArray, l2: float, alpha: float) -> FloatArray:
    """Exact least squares for every row of ``rows`` (n_rows × n_fixed CSR): (n_rows, k) float32."""
    k = fixed.shape[1]
    gram = fixed.T @ fixed + np.float32(l2) * np.eye(k, dtype=np.float32)
    out = np.zeros((rows.shape[0], k), dtype=np.float32)
    budget = max(1, (1 << 25) // (k * k))  # nonzeros per chunk: bounds the (nnz, k, k) temporary
    lengths = np.diff(rows.indptr)
    lo = 0
    n_rows = rows.shape[0]
    while lo < n_rows:
        hi = lo + 1
        while hi < n_rows and rows.indptr[hi + 1] - rows.indptr[lo] <= budget:
            hi += 1
        a, b = int(rows.indptr[lo]), int(rows.indptr[hi])
        if b > a:
            y = fixed[rows.indices[a:b]]
            conf = np.float32(alpha) * rows.data[a:b]
            outer = np.einsum("nk,nl->nkl", y * conf[:, None], y)
            starts = rows.indptr[lo:hi] - a
            nz = lengths[lo:hi] > 0
            mats = np.repeat(gram[None], hi - lo, axis=0)
            mats[nz] += np.add.reduceat(outer, starts[nz], axis=0)
            rhs = np.zeros((hi - lo, k), dtype=np.float32)
            rhs[nz] = np.add.reduceat(y * (1.0 + conf)[:, None], starts[nz], axis=0)
            out[lo:hi] = np.linalg.solve(mats, rhs[..., None])[..., 0]
        lo = hi
    return out


def newest_weights_batch(
    histories: Sequence[History], decay: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """The fold-in weights of several histories at once: ``decay ** age`` of each distinct
    item's newest event, as (owner row, item index, float32 weight), grouped by owner and, within
    an owner, by item index (as ``np.unique`` orders them)."""
    lengths = np.fromiter((len(h) for h in histories), dtype=np.int64, count=len(histories))
    if not lengths.sum():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    items = np.concatenate([h.item_idx for h in histories]).astype(np.int64, copy=False)
    owner = np.repeat(np.arange(len(histories), dtype=np.int64), lengths)
    ends = np.cumsum(lengths)
    age = ends[owner] - 1 - np.arange(items.shape[0], dtype=np.int64)
    n = int(items.max()) + 1
    key = owner * n + items
    order = np.lexsort((age, key))  # each (owner, item) group starts with its newest event
    key, age = key[order], age[order]
    first = np.ones(key.shape[0], dtype=np.bool_)
    first[1:] = key[1:] != key[:-1]
    key, age = key[first], age[first]
    weights = np.power(decay, age.astype(np.float64)).astype(np.float32)
    keep = weights != 0  # as the dense row: weights that underflowed to 0 are dropped
    key, weights = key[keep], weights[keep]
    return key // n, key % n, weights


# Histories up to this long are folded in as one padded batch of small matrix products; longer
# ones (rare) one by one, so that the padding stays small.
FOLD_IN_PAD = 128


def _fold_in_systems(
    histories: Sequence[History], y: FloatArray, gram: FloatArray, alpha: float, decay: float
) -> tuple[FloatArray, FloatArray]:
    """The iALS fold-in systems of non-empty histories: ``(YᵀY + λI + Σ c_i y_i y_iᵀ)`` and
    ``Σ (1 + c_i) y_i`` per history, ((m, k, k), (m, k)) float32, with confidence
    ``c_i = alpha · decay^age`` of each item's newest event."""
    m, k = len(histories), y.shape[1]
    owner, items, w = newest_weights_batch(histories, decay)
    conf = np.float32(alpha) * w
    yi = y[items]
    targets = np.zeros((m, k), dtype=np.float32)
    counts = np.bincount(owner, minlength=m)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = np.flatnonzero(counts)
    if has.size:
        targets[has] = np.add.reduceat(yi * (1.0 + conf)[:, None], starts[has], axis=0)
    systems = np.empty((m, k, k), dtype=np.float32)
    short = counts <= FOLD_IN_PAD
    width = int(counts[short].max()) if short.any() else 0
    rows = np.flatnonzero(short)
    if rows.size and width:
        padded = np.zeros((m, width, k), dtype=np.float32)
        sel = short[owner]
        position = np.arange(owner.shape[0]) - starts[owner]
        padded[owner[sel], position[sel]] = yi[sel] * np.sqrt(conf[sel])[:, None]
        part = padded[rows]
        systems[rows] = np.matmul(part.transpose(0, 2, 1), part) + gram
    elif rows.size:
        systems[rows] = gram
    for row in np.flatnonzero(~short).tolist():
        lo, hi = int(starts[row]), int(starts[row] + counts[row])
        weighted = yi[lo:hi] * conf[lo:hi, None]
        np.add(gram, weighted.T @ yi[lo:hi], out=systems[row])
    return systems, targets


def fold_in(
    histories: Sequence[History],
    y: FloatArray,
    gram: FloatArray,
    gram_inv: npt.NDArray[np.float64],
    alpha: float,
    decay: float,
) -> FloatArray:
    """iALS user vectors of non-empty histories, (m, k) float32: the solution ``u`` of
    ``(YᵀY + λI + Σ c_i y_i y_iᵀ) u = Σ (1 + c_i) y_i`` with ``c_i = alpha · decay^age`` of
    each item's newest event.

    A history of L ≤ k items changes the shared ``G = YᵀY + λI`` by a rank-L term, so the
    Woodbury identity solves an L × L system instead of a k × k one:
    ``u = G⁻¹b − G⁻¹Yᵢᵀ (C⁻¹ + Yᵢ G⁻¹ Yᵢᵀ)⁻¹ Yᵢ G⁻¹ b``, for the whole batch at once in float64
    (``gram_inv`` = G⁻¹). Longer histories take the k × k systems of :func:`_fold_in_systems`."""
    m, k = len(histories), y.shape[1]
    owner, items, w = newest_weights_batch(histories, decay)
    counts = np.bincount(owner, minlength=m)
    users = np.zeros((m, k), dtype=np.float32)
    short = (counts > 0) & (counts <= min(k, FOLD_IN_PAD))
    rows = np.flatnonzero(short)
    if rows.size:
        sel = short[owner]
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        slot = np.full(m, -1, dtype=np.int64)
        slot[rows] = np.arange(rows.size)
        at = (slot[owner[sel]], (np.arange(owner.shape[0]) - starts[owner])[sel])
        width = int(counts[rows].max())
        conf = np.float64(alpha) * w[sel].astype(np.float64)
        padded = np.zeros((rows.size, width, k), dtype=np.float64)
        padded[at] = y[items[sel]]
        inv_conf = np.ones((rows.size, width), dtype=np.float64)  # padding: decoupled unit rows
        inv_conf[at] = 1.0 / conf
        weights = np.zeros((rows.size, width), dtype=np.float64)
        weights[at] = 1.0 + conf
        b = np.einsum("rlk,rl->rk", padded, weights)  # Σ (1 + c_i) y_i
        t = b @ gram_inv  # G⁻¹ b (G symmetric)
        z = padded @ gram_inv  # Yᵢ G⁻¹
        inner = z @ padded.transpose(0, 2, 1)
        diagonal = np.arange(width)
        inner[:, diagonal, diagonal] += inv_conf
        rhs = np.einsum("rlk,rk->rl", padded, t)
        solved = np.linalg.solve(inner, rhs[:, :, None])[:, :, 0]
        users[rows] = t - np.einsum("rlk,rl->rk", z, solved)
    long = np.flatnonzero(counts > min(k, FOLD_IN_PAD))
    if long.size:
        picked = [histories[i] for i in long.tolist()]
        systems, targets = _fold_in_systems(picked, y, gram, alpha, decay)
        users[long] = np.linalg.solve(systems, targets[:, :, None])[:, :, 0]
    return users
