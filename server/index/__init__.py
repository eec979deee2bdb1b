"""The codebase index: find the code a person or the AI means.

Files are cut into functions, methods and classes by tree-sitter (blocks by indentation
for the rest), stored in Qdrant with a lexical vector that needs no model and, when an
embedder is configured, a dense one; a question is answered by fusing both and reranking
by what a code reader looks for. `CodeIndex` keeps one workspace's index in step with its
files, in the background, resuming after a restart and repairing itself.

    store = VectorStore(path=settings.resolved_qdrant_path)      # or url=settings.qdrant_url
    indexes = CodeIndexes(store, settings.data_dir / "index",
                          embedder=local_embedder(), on_progress=publish)
    index = await indexes.open(workspace_id, root)          # starts indexing in the background
    await indexes.on_files_changed(event)                    # a watcher's FilesChanged
    hits = await index.search("where do we retry failed uploads", k=10)
    context = format_for_prompt(hits, token_budget=2000)
"""

from server.index._chunks import Chunk, chunk_file
from server.index._embed import Embedder, MiniLMEmbedder, OpenAIEmbedder, local_embedder
from server.index._prompt import format_for_prompt
from server.index._registry import CodeIndexes
from server.index._search import MAX_K, MAX_QUERY_CHARS, SearchHit
from server.index._service import CodeIndex, IndexState, ProgressCallback, collection_name
from server.index._store import VectorStore
from server.index._sync import SyncStats

__all__ = [
    "MAX_K",
    "MAX_QUERY_CHARS",
    "Chunk",
    "CodeIndex",
    "CodeIndexes",
    "Embedder",
    "IndexState",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
    "ProgressCallback",
    "SearchHit",
    "SyncStats",
    "VectorStore",
    "chunk_file",
    "collection_name",
    "format_for_prompt",
    "local_embedder",
]
