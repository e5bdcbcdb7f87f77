"""aws-next-best-action (PERSONALIZED_ACTIONS): the actions a user is most likely to take.

A propensity model per action over shared user features:

* the user's taste: the mean of the user's item vectors, from a rank-``RANK`` truncated SVD of
  the user × item matrix of item interactions (as in item-affinity), L2-normalised;
* a constant (the per-action bias).

(Counts of the user's earlier action interactions were tried as features and dropped: they
mostly encode the order in which actions were offered, not the user's propensity.)

For every (user, action) pair seen in the action interactions the label is whether the user took
the action within ``action_optimization_period`` days of their first interaction with it. The
probability is ``sigmoid(b_a + (w + W_a) · x)``: a shared weight vector ``w`` plus a per-action
deviation ``W_a`` (more strongly L2-regularised, so rare actions borrow from the others), fitted
jointly by L-BFGS on the log loss. Deterministic; no sampling.

Rules applied at scoring time (spec §2.2): an action gets a non-zero propensity only with at least
``min_action_interactions`` (AWS: 50) TAKEN and as many NOT_TAKEN / VIEWED interactions within
six weeks of the newest action interaction; expired actions (EXPIRATION_TIMESTAMP before now) are
never recommended; an action the user interacted with less than REPEAT_FREQUENCY days ago is
suppressed; equal propensities rank the higher VALUE first (:meth:`NextBestAction.rank_keys`).
Offline metrics (:func:`action_metrics`): ``precision``, ``recall`` (per action, averaged) and
``auc`` on held-out users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import scipy.optimize

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import (
    ActionData,
    FloatArray,
    History,
    IntArray,
    JsonDict,
    Model,
    TrainingData,
)
from openpersonalize.engine.hyperparameters import get_int
from openpersonalize.engine.recipes._common import affinity_factors, confidence_matrix

RANK = 16
SECONDS_PER_DAY = 86_400.0
RECENT_WINDOW = 42 * SECONDS_PER_DAY  # "within 6 weeks of the latest action interaction"
L2_SHARED = 1e-4
L2_ACTION = 1e-3
VALUE_EPSILON = 1e-6
N_ACTION_FEATURES = 0


@dataclass(frozen=True)
class ActionHistory:
    """One user at request time: item interactions (model item-vocabulary indices) and action
    interactions (action indices, epoch seconds, taken flags), oldest first."""

    item_idx: IntArray
    action_idx: IntArray
    action_timestamp: npt.NDArray[np.float64]
    taken: npt.NDArray[np.bool_]

    @staticmethod
    def empty() -> ActionHistory:
        z = np.zeros(0, dtype=np.int64)
        return ActionHistory(z, z, np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.bool_))


def _sigmoid(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def _taste(item_factors: FloatArray, item_idx: IntArray) -> FloatArray:
    known = item_idx[(item_idx >= 0) & (item_idx < item_factors.shape[0])]
    if known.size == 0:
        return np.zeros(item_factors.shape[1], dtype=np.float32)
    vector = item_factors[known].mean(axis=0)
    norm = float(np.linalg.norm(vector))
    out: FloatArray = (vector / norm if norm > 0 else vector).astype(np.float32)
    return out


def _features(taste: FloatArray) -> FloatArray:
    return taste


@dataclass
class _Examples:
    x: npt.NDArray[np.float64]  # (m, d)
    action: IntArray  # (m,)
    label: npt.NDArray[np.float64]  # (m,)
    user: IntArray  # (m,) index into ActionData.users


def build_examples(actions: ActionData, tastes: FloatArray, period_days: int) -> _Examples:
    """One example per (user, action) pair of the action interactions.

    ``tastes``: (n_action_users, r) taste vector per ActionData user."""
    period = period_days * SECONDS_PER_DAY
    order = np.lexsort((actions.timestamp, actions.action_idx, actions.user_idx))
    users, acts = actions.user_idx[order], actions.action_idx[order]
    times, taken = actions.timestamp[order], actions.taken[order]
    xs: list[FloatArray] = []
    labels: list[float] = []
    pair_actions: list[int] = []
    pair_users: list[int] = []
    starts = np.flatnonzero(np.r_[True, (users[1:] != users[:-1]) | (acts[1:] != acts[:-1])])
    ends = np.r_[starts[1:], len(users)]
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        u, a, anchor = int(users[lo]), int(acts[lo]), float(times[lo])
        window = (times[lo:hi] <= anchor + period) & taken[lo:hi]
        xs.append(_features(tastes[u]))
        labels.append(1.0 if window.any() else 0.0)
        pair_actions.append(a)
        pair_users.append(u)
    d = tastes.shape[1] + N_ACTION_FEATURES
    return _Examples(
        np.asarray(xs, dtype=np.float64).reshape(-1, d),
        np.asarray(pair_actions, dtype=np.int64),
        np.asarray(labels, dtype=np.float64),
        np.asarray(pair_users, dtype=np.int64),
    )


def fit_propensity(
    examples: _Examples, n_actions: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(shared weights (d,), per-action deviations (n_actions, d), biases (n_actions,))."""
    x, a, y = examples.x, examples.action, examples.label
    m, d = x.shape
    n_params = d + n_actions * d + n_actions

    def unpack(p: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
        return p[:d], p[d : d + n_actions * d].reshape(n_actions, d), p[d + n_actions * d :]

    def loss(p: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        w, dev, b = unpack(p)
        z = x @ w + np.einsum("ij,ij->i", x, dev[a]) + b[a]
        prob = _sigmoid(z)
        eps = 1e-12
        value = -np.mean(y * np.log(prob + eps) + (1 - y) * np.log(1 - prob + eps))
        value += L2_SHARED * float(w @ w) + L2_ACTION * float((dev * dev).sum())
        r = (prob - y) / max(m, 1)
        grad_w = x.T @ r + 2 * L2_SHARED * w
        grad_dev = np.zeros_like(dev)
        np.add.at(grad_dev, a, x * r[:, None])
        grad_dev += 2 * L2_ACTION * dev
        grad_b = np.bincount(a, weights=r, minlength=n_actions)
        return float(value), np.concatenate([grad_w, grad_dev.ravel(), grad_b])

    if m == 0:
        zeros = np.zeros(n_params)
    else:
        zeros = scipy.optimize.minimize(
            loss, np.zeros(n_params), jac=True, method="L-BFGS-B", options={"maxiter": 300}
        ).x
    w, dev, b = unpack(zeros)
    return w.astype(np.float32), dev.astype(np.float32), b.astype(np.float32)


def eligible_actions(actions: ActionData, minimum: int) -> npt.NDArray[np.bool_]:
    """Actions with ≥ ``minimum`` TAKEN and ≥ ``minimum`` other interactions in the last six
    weeks of the action interactions: bool (n_actions,)."""
    n = len(actions.actions)
    if actions.timestamp.size == 0:
        return np.zeros(n, dtype=np.bool_) if minimum > 0 else np.ones(n, dtype=np.bool_)
    recent = actions.timestamp >= float(actions.timestamp.max()) - RECENT_WINDOW
    taken = np.bincount(actions.action_idx[recent & actions.taken], minlength=n)
    other = np.bincount(actions.action_idx[recent & ~actions.taken], minlength=n)
    eligible: npt.NDArray[np.bool_] = (taken >= minimum) & (other >= minimum)
    return eligible


class NextBestAction(Model):
    recipe_name: ClassVar[str] = "aws-next-best-action"
    recipe_type: ClassVar[str] = "PERSONALIZED_ACTIONS"
    realtime: ClassVar[bool] = True
    returns_scores: ClassVar[bool] = True

    def __init__(
        self,
        actions: Vocabulary,
        users: Vocabulary,
        item_vocab: Vocabulary,
        arrays: Mapping[str, np.ndarray],
    ) -> None:
        """``actions`` is the model's candidate vocabulary (``self.items``); ``item_vocab`` the
        items of the item interactions; ``arrays`` as in :meth:`to_arrays`."""
        super().__init__(actions, users)
        self.item_vocab = item_vocab
        self.item_factors = np.asarray(arrays["item_factors"], dtype=np.float32)
        self.shared = np.asarray(arrays["shared"], dtype=np.float32)
        self.deviation = np.asarray(arrays["deviation"], dtype=np.float32)
        self.bias = np.asarray(arrays["bias"], dtype=np.float32)
        self.eligible = np.asarray(arrays["eligible"], dtype=np.bool_)
        self.value = np.asarray(arrays["value"], dtype=np.float64)
        self.expiration = np.asarray(arrays["expiration"], dtype=np.float64)
        self.repeat_days = np.asarray(arrays["repeat_days"], dtype=np.float64)
        # Training-time action interactions per user (CSR over ``action_users``).
        self.action_users = Vocabulary.from_array(arrays["action_users"])
        self.history_indptr = np.asarray(arrays["history_indptr"], dtype=np.int64)
        self.history_action = np.asarray(arrays["history_action"], dtype=np.int64)
        self.history_timestamp = np.asarray(arrays["history_timestamp"], dtype=np.float64)
        self.history_taken = np.asarray(arrays["history_taken"], dtype=np.bool_)

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> NextBestAction:
        from openpersonalize.engine.training_data import TrainingDataError

        actions = data.actions
        if actions is None or len(actions.actions) == 0:
            raise TrainingDataError("Next-Best-Action requires an Actions dataset with actions.")
        period = get_int(hyperparameters, cls.recipe_name, "action_optimization_period")
        minimum = get_int(hyperparameters, cls.recipe_name, "min_action_interactions")
        rank = max(1, min(RANK, data.n_items - 1, data.n_users - 1))
        _, item_factors = affinity_factors(confidence_matrix(data), rank, rng)
        tastes = _user_tastes(data, actions, item_factors)
        examples = build_examples(actions, tastes, period)
        shared, deviation, bias = fit_propensity(examples, len(actions.actions))
        order = np.lexsort((actions.timestamp, actions.user_idx))
        counts = np.bincount(actions.user_idx, minlength=len(actions.users))
        arrays: dict[str, np.ndarray] = {
            "item_factors": item_factors,
            "shared": shared,
            "deviation": deviation,
            "bias": bias,
            "eligible": eligible_actions(actions, minimum),
            "value": actions.value,
            "expiration": actions.expiration,
            "repeat_days": actions.repeat_days,
            "action_users": actions.users.to_array(),
            "history_indptr": np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
            "history_action": actions.action_idx[order],
            "history_timestamp": actions.timestamp[order],
            "history_taken": actions.taken[order],
        }
        return cls(actions.actions, data.users, data.items, arrays)

    # -- request time ----------------------------------------------------------------------------

    def stored_history(self, user_id: str) -> ActionHistory:
        """The user's training-time action interactions (no item history)."""
        u = self.action_users.index(user_id)
        if u < 0:
            return ActionHistory.empty()
        lo, hi = int(self.history_indptr[u]), int(self.history_indptr[u + 1])
        return ActionHistory(
            np.zeros(0, dtype=np.int64),
            self.history_action[lo:hi],
            self.history_timestamp[lo:hi],
            self.history_taken[lo:hi],
        )

    def propensities(self, histories: Sequence[ActionHistory]) -> FloatArray:
        """Probability of taking each action: (len(histories), n_actions) float32 in [0, 1];
        0.0 for actions without enough action interactions at training."""
        d = self.shared.shape[0]
        x = np.zeros((len(histories), d), dtype=np.float32)
        for row, h in enumerate(histories):
            x[row] = _features(_taste(self.item_factors, h.item_idx))
        z = x @ self.shared[:, None] + x @ self.deviation.T + self.bias[None, :]
        prob = _sigmoid(z.astype(np.float64)).astype(np.float32)
        prob[:, ~self.eligible] = 0.0
        return prob

    def score_actions(self, histories: Sequence[ActionHistory], now: float) -> FloatArray:
        """Propensities with the automatic rules: ``-inf`` for expired actions and for actions
        within their REPEAT_FREQUENCY of the user's last interaction with them."""
        scores = self.propensities(histories)
        expired = np.isfinite(self.expiration) & (self.expiration <= now)
        scores[:, expired] = -np.inf
        for row, h in enumerate(histories):
            if h.action_idx.size == 0:
                continue
            days = self.repeat_days[h.action_idx]
            recent = np.isfinite(days) & (now - h.action_timestamp < days * SECONDS_PER_DAY)
            scores[row, h.action_idx[recent & (h.action_idx >= 0)]] = -np.inf
        return scores

    def rank_keys(self, scores: FloatArray) -> FloatArray:
        """Scores plus a VALUE tie-break too small to reorder different propensities."""
        value = np.nan_to_num(self.value, nan=0.0)
        span = float(value.max() - value.min()) if value.size else 0.0
        norm = (value - value.min()) / span if span > 0 else np.zeros_like(value)
        keys: FloatArray = (scores + VALUE_EPSILON * norm[None, :]).astype(np.float32)
        return keys

    def score_users(self, histories: Sequence[History]) -> FloatArray:
        """Propensities from item histories alone (indices into ``item_vocab``)."""
        return self.propensities([ActionHistory(h.item_idx, *_no_actions()) for h in histories])

    # -- artifacts -------------------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        arrays: dict[str, np.ndarray] = {
            "item_vocab": self.item_vocab.to_array(),
            "item_factors": self.item_factors,
            "shared": self.shared,
            "deviation": self.deviation,
            "bias": self.bias,
            "eligible": self.eligible,
            "value": self.value,
            "expiration": self.expiration,
            "repeat_days": self.repeat_days,
            "action_users": self.action_users.to_array(),
            "history_indptr": self.history_indptr,
            "history_action": self.history_action,
            "history_timestamp": self.history_timestamp,
            "history_taken": self.history_taken,
        }
        return arrays, {}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> NextBestAction:
        return cls(items, users, Vocabulary.from_array(arrays["item_vocab"]), arrays)


def _no_actions() -> tuple[IntArray, npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    empty = ActionHistory.empty()
    return empty.action_idx, empty.action_timestamp, empty.taken


def _user_tastes(data: TrainingData, actions: ActionData, item_factors: FloatArray) -> FloatArray:
    """Taste vector of every action-interaction user: (len(actions.users), r) float32."""
    tastes = np.zeros((len(actions.users), item_factors.shape[1]), dtype=np.float32)
    order = np.argsort(data.user_idx, kind="stable")
    users, items = data.user_idx[order], data.item_idx[order]
    bounds = np.searchsorted(users, np.arange(data.n_users + 1))
    for row, user_id in enumerate(actions.users.ids()):
        u = data.users.index(user_id)
        if u >= 0:
            tastes[row] = _taste(item_factors, items[bounds[u] : bounds[u + 1]])
    return tastes


def action_metrics(
    cls: type[NextBestAction],
    data: TrainingData,
    hyperparameters: Mapping[str, str],
    rng: np.random.Generator,
) -> dict[str, float]:
    """``precision`` / ``recall`` (per action, averaged over actions with takers) and ``auc`` of
    a model trained without 20 % of the action-interaction users, on those users' pairs."""
    actions = data.actions
    if actions is None or len(actions.users) < 5:
        return {"precision": 0.0, "recall": 0.0, "auc": 0.0}
    test_users = rng.permutation(len(actions.users))[: max(1, len(actions.users) // 5)]
    is_test = np.isin(actions.user_idx, test_users)
    train_actions = ActionData(
        actions.actions, actions.value, actions.expiration, actions.repeat_days, actions.users,
        actions.user_idx[~is_test], actions.action_idx[~is_test], actions.timestamp[~is_test],
        actions.taken[~is_test],
    )  # fmt: skip
    train = TrainingData(**{**data.__dict__, "actions": train_actions})
    params = {**hyperparameters, "min_action_interactions": "0"}
    model = cls.train(train, params, rng)
    test_actions = ActionData(
        actions.actions, actions.value, actions.expiration, actions.repeat_days, actions.users,
        actions.user_idx[is_test], actions.action_idx[is_test], actions.timestamp[is_test],
        actions.taken[is_test],
    )  # fmt: skip
    period = get_int(hyperparameters, cls.recipe_name, "action_optimization_period")
    tastes = _user_tastes(data, test_actions, model.item_factors)
    examples = build_examples(test_actions, tastes, period)
    if examples.label.size == 0:
        return {"precision": 0.0, "recall": 0.0, "auc": 0.0}
    z = (
        examples.x @ model.shared.astype(np.float64)
        + np.einsum("ij,ij->i", examples.x, model.deviation[examples.action])
        + model.bias[examples.action]
    )
    prob = _sigmoid(z)
    predicted, actual = prob >= 0.5, examples.label > 0.5
    precisions, recalls = [], []
    for a in np.unique(examples.action):
        sel = examples.action == a
        hits = float((predicted & actual & sel).sum())
        if (predicted & sel).any():
            precisions.append(hits / float((predicted & sel).sum()))
        if (actual & sel).any():
            recalls.append(hits / float((actual & sel).sum()))
    return {
        "precision": float(np.mean(precisions)) if precisions else 0.0,
        "recall": float(np.mean(recalls)) if recalls else 0.0,
        "auc": roc_auc(prob, actual),
    }


def roc_auc(scores: npt.NDArray[np.float64], labels: npt.NDArray[np.bool_]) -> float:
    """Area under the ROC curve (ties count one half); 0.5 when one class is missing."""
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
