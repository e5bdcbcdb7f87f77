"""The numeric steps after scoring: top-k, softmax scores, exploration slots, promotion merge."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Share of the list that exploration may take at explorationWeight 1.0 (0.3 → 15 %).
EXPLORATION_SHARE = 0.5
# Exploration picks among this many times more eligible items than it has slots.
EXPLORATION_POOL = 4


def top_k(scores: FloatArray, k: int) -> IntArray:
    """Indices of the ``k`` highest finite scores, best first (fewer when fewer are finite).

    ``scores``: (n,) float32 where ``-inf`` marks an item that must not be returned. Ties are
    broken by the lower index, so answers are deterministic."""
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        # The k largest without negating a copy: the (n - k)-th smallest is the k-th largest.
        above = np.argpartition(scores, n - k)[n - k :]
        kth = scores[above].min()
        if not np.isfinite(kth):
            part = np.arange(n)
        else:
            at_least = scores >= kth
            # Every item tied with the k-th, so that the lower index wins ties deterministically.
            part = above if np.count_nonzero(at_least) == k else np.flatnonzero(at_least)
    else:
        part = np.arange(n)
    order = part[np.lexsort((part, -scores[part]))][:k]
    return order[np.isfinite(scores[order])].astype(np.int64)


def top_k_rows(scores: npt.NDArray[np.float32], k: int) -> list[IntArray]:
    """:func:`top_k` of every row of ``scores`` ((m, n) float32), computed for the whole batch.

    The items of a row are dealt into ``g`` groups (item ``i`` into group ``i mod g``). The k-th
    largest group maximum ``t`` has k items at or above it, so every item of the top k (ties
    included) lies in a group whose maximum is ``>= t``. The group maxima are one elementwise
    pass over the batch; only the groups that reach ``t`` (about k per row) are searched. Rows
    with fewer than k finite groups fall back to :func:`top_k`. Same results as :func:`top_k`,
    ties to the lower index."""
    m, n = scores.shape
    if k <= 0 or n == 0 or m == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(m)]
    # Group size: the maxima cost the same for any size; larger groups mean fewer maxima to
    # select from but more items to search in each group that reaches the threshold.
    size = min(64, int(np.sqrt(n / k)), n // (4 * k))
    if size < 2:
        return [top_k(scores[row], k) for row in range(m)]
    groups = n // size
    full = groups * size
    dealt = scores[:, :full].reshape(m, size, groups)  # [row, j, g] is item j * groups + g
    maxima = dealt.max(axis=1)
    tail = n - full
    if tail:
        maxima = np.concatenate([maxima, scores[:, full:].max(axis=1, keepdims=True)], axis=1)
    width = maxima.shape[1]
    kth = np.partition(maxima, width - k, axis=1)[:, width - k]
    exact = np.isfinite(kth)
    kth = np.where(exact, kth, np.float32(np.inf)).astype(np.float32)
    hot = np.flatnonzero(maxima >= kth[:, None])
    hot_rows, hot_groups = np.divmod(hot, width)
    inner = hot_groups < groups
    rows_in, groups_in = hot_rows[inner], hot_groups[inner]
    candidates = dealt[rows_in, :, groups_in]  # (hot groups, size)
    where = np.flatnonzero(candidates >= kth[rows_in][:, None])
    which, j = np.divmod(where, size)
    rows = rows_in[which]
    cols = j * groups + groups_in[which]
    if tail:
        tail_rows = hot_rows[~inner]
        part = scores[tail_rows, full:]
        where = np.flatnonzero(part >= kth[tail_rows][:, None])
        which, offset = np.divmod(where, tail)
        rows = np.concatenate([rows, tail_rows[which]])
        cols = np.concatenate([cols, full + offset])
    values = scores[rows, cols]
    order = _row_value_col_order(rows, cols, values, m, n)
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.searchsorted(rows, np.arange(m + 1))
    # The first k of each row, finite ones only, split into one array per row.
    rank = np.arange(rows.shape[0]) - starts[rows]
    keep = (rank < k) & np.isfinite(values)
    counts = np.bincount(rows[keep], minlength=m)
    out: list[IntArray] = np.split(cols[keep].astype(np.int64, copy=False), np.cumsum(counts)[:-1])
    for row in np.flatnonzero(~exact).tolist():
        out[row] = top_k(scores[row], k)
    return out


def _row_value_col_order(
    rows: IntArray, cols: IntArray, values: npt.NDArray[np.float32], m: int, n: int
) -> IntArray:
    """The order of ``np.lexsort((cols, -values, rows))`` (row ascending, value descending, col
    ascending) through one sort of a packed 64-bit key when row and col fit beside the value's
    32 bits; the float's bits map to an unsigned integer in the same order."""
    row_bits, col_bits = max(1, m.bit_length()), max(1, n.bit_length())
    if row_bits + col_bits + 32 > 64:
        order: IntArray = np.lexsort((cols, -values, rows))
        return order
    bits = (values + np.float32(0.0)).view(np.uint32).astype(np.uint64)  # -0.0 → 0.0
    negative = (bits >> np.uint64(31)) == 1
    ascending = np.where(negative, ~bits & np.uint64(0xFFFFFFFF), bits | np.uint64(0x80000000))
    key = rows.astype(np.uint64) << np.uint64(32 + col_bits)
    key |= (np.uint64(0xFFFFFFFF) - ascending) << np.uint64(col_bits)
    key |= cols.astype(np.uint64)
    packed: IntArray = np.argsort(key)
    return packed


def softmax_normalisers(
    scores: npt.NDArray[np.float32], tops: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    """``Σ exp(s - top)`` of every row of ``scores`` ((m, n) float32, ``-inf`` = not a
    candidate) with ``tops`` (m,) its largest finite score: the denominators of
    :func:`softmax_scores`, a few rows at a time so that each pass stays in cache. A row that
    holds ``+inf`` or NaN gets a non-finite value (its caller takes :func:`softmax_scores`).

    The terms are summed by a matrix-vector product with ones (BLAS, float32 accumulators):
    every term is in (0, 1] and the largest is 1, so the sum is good to ~1e-6 relative (the
    float64 sum of :func:`softmax_scores`: ~1e-7), at a third of its cost."""
    m, n = scores.shape
    out = np.empty(m, dtype=np.float64)
    step = max(1, (1 << 17) // max(n, 1))
    shifted = np.empty((min(step, m), n), dtype=np.float32)
    ones = _ones(n)
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        part = shifted[: hi - lo]
        np.subtract(scores[lo:hi], tops[lo:hi, None], out=part)
        np.exp(part, out=part)
        out[lo:hi] = part @ ones
    return out


@functools.lru_cache(maxsize=8)
def _ones(n: int) -> FloatArray:
    """A read-only float32 vector of ``n`` ones, made once per catalogue size."""
    ones = np.ones(n, dtype=np.float32)
    ones.setflags(write=False)
    return ones


def softmax_scores(scores: FloatArray, chosen: IntArray) -> npt.NDArray[np.float64]:
    """``exp(s_j) / Σ exp(s)`` over the finite scores (the candidates), for the ``chosen`` items.

    ``scores`` (n,) float32, ``-inf`` for non-candidates; returns (len(chosen),) float64 in [0, 1].
    """
    if chosen.size == 0 or scores.size == 0:
        return np.zeros(chosen.shape[0], dtype=np.float64)
    top = float(scores.max())
    if not np.isfinite(top):
        # No candidate, or +inf / NaN among the scores: the exact definition, slowly.
        finite = scores[np.isfinite(scores)]
        if finite.size == 0:
            return np.zeros(chosen.shape[0], dtype=np.float64)
        top = float(finite.max())
        shifted = finite.astype(np.float64) - top
        np.exp(shifted, out=shifted)
        denominator = float(shifted.sum())
    else:
        # One float32 pass (exp(-inf) = 0: non-candidates add nothing), summed in float64: the
        # normaliser to ~1e-7 relative, at a third of the cost of a float64 copy of the scores.
        shifted32 = np.subtract(scores, np.float32(top), dtype=np.float32)
        np.exp(shifted32, out=shifted32)
        denominator = float(shifted32.sum(dtype=np.float64))
    picked = scores[chosen].astype(np.float64)
    out = np.where(np.isfinite(picked), np.exp(picked - top) / denominator, 0.0)
    return np.clip(out, 0.0, 1.0)


def exploration_slots(n_results: int, weight: float) -> int:
    return round(n_results * weight * EXPLORATION_SHARE)


def explore(
    ranked: IntArray,
    scores: FloatArray,
    eligible: BoolArray,
    n_results: int,
    weight: float,
    rng: np.random.Generator,
    eligible_idx: IntArray | None = None,
) -> tuple[IntArray, set[int]]:
    """Give a share of the ``n_results`` slots to eligible (new / cold) items.

    ``ranked``: the exploit list, best first, at least ``n_results`` long when possible (a
    deeper :func:`top_k` of ``scores`` lets the pool come from it without another scan);
    ``scores``: the filtered scores (``-inf`` = not a candidate); ``eligible``: bool (n,) items
    young enough to explore (``eligible_idx``: its indices, when the caller has them). Explored
    items are drawn from the best-scored eligible items not in the exploit list and placed at
    evenly spread positions. Returns the list and the explored set.
    """
    slots = min(exploration_slots(n_results, weight), n_results)
    exploit = ranked[:n_results]
    if slots <= 0:
        return exploit, set()
    want = slots * EXPLORATION_POOL
    # ``ranked`` deeper than the list (top_k order): the pool is its first eligible items when
    # there are enough of them — the same items, in the same order, as the full scan below.
    rest = ranked[n_results:]
    rest = rest[eligible[rest] & np.isfinite(scores[rest])]
    if rest.size >= want:
        pool = rest[:want]
    else:
        # Every eligible candidate outside the list, in index order; the best of them by score.
        candidates = np.flatnonzero(eligible) if eligible_idx is None else eligible_idx
        candidates = candidates[np.isfinite(scores[candidates])]
        candidates = candidates[~np.isin(candidates, exploit)]
        if candidates.size == 0:
            return exploit, set()
        pool = candidates[top_k(scores[candidates], min(candidates.size, want))]
    picked = pool[rng.permutation(pool.size)[: min(slots, pool.size)]]
    picked = picked[np.lexsort((picked, -scores[picked]))]
    keep = exploit[: max(n_results - picked.size, 0)]
    total = keep.size + picked.size
    positions = [
        min(total - 1, round((i + 1) * total / (picked.size + 1))) for i in range(picked.size)
    ]
    out = merge_at(keep, picked, positions)
    return out, {int(i) for i in picked}


def merge_at(base: IntArray, inserted: IntArray, positions: list[int]) -> IntArray:
    """``inserted`` placed at ``positions`` (ascending, distinct after adjustment) of the merged
    list, keeping the relative order of both lists."""
    total = base.size + inserted.size
    merged: list[int] = []
    rest = iter(base.tolist())
    last = -1
    for placed, (p, item) in enumerate(zip(positions, inserted.tolist(), strict=True)):
        p = min(max(p, last + 1), total - (inserted.size - placed))
        while len(merged) < p:
            merged.append(next(rest))
        merged.append(item)
        last = p
    merged.extend(rest)
    return np.asarray(merged, dtype=np.int64)


def promote(
    regular: IntArray, promoted: IntArray, n_results: int, rng: np.random.Generator
) -> tuple[IntArray, set[int]]:
    """Promoted items at random positions among the regular ones, keeping their own order."""
    promoted = promoted[:n_results]
    base = regular[: max(n_results - promoted.size, 0)]
    total = base.size + promoted.size
    if promoted.size == 0:
        return base, set()
    positions = sorted(int(p) for p in rng.choice(total, size=promoted.size, replace=False))
    return merge_at(base, promoted, positions), {int(i) for i in promoted}
