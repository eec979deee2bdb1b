"""Cutting code into the pieces a reader thinks in, and rendering retrieved pieces for a
model: real tree-sitter grammars from the installed wheel, no network."""

from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter_language_pack

from server.ai.messages import estimate_tokens
from server.index import SearchHit, chunk_file, format_for_prompt

# Chunking ------------------------------------------------------------------------------


def test_grammars_come_from_the_installed_wheel() -> None:
    """Every grammar we rely on is a compiled file inside the package (the 1.x line of
    tree-sitter-language-pack downloads them at run time; we must never)."""
    bindings = Path(tree_sitter_language_pack.__file__).parent / "bindings"
    for language in ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp"):
        assert list(bindings.glob(f"{language}.*so")), language
        assert tree_sitter_language_pack.get_parser(language) is not None  # type: ignore[arg-type]


def test_python_chunks_have_names_signatures_docstrings_and_classes() -> None:
    source = (
        "import os\n\n\n@cache\ndef top(a, b=2):\n"
        '    """Add things up."""\n    return a + b\n\n\n'
        'class Store(Base):\n    """Keeps things."""\n\n    def put(self, key):\n'
        '        """Put one."""\n        self.items[key] = 1\n'
    )
    chunks = {c.name: c for c in chunk_file("pkg/mod.py", source)}
    top, store, put = chunks["top"], chunks["Store"], chunks["put"]
    assert (top.kind, top.start_line, top.end_line) == ("function", 4, 7)  # decorator included
    assert top.signature == "def top(a, b=2)" and top.docstring == "Add things up."
    assert (store.kind, store.start_line, store.end_line) == ("class", 10, 15)
    assert "self.items" not in store.text  # a class chunk holds its methods' signatures only
    assert (put.kind, put.parent, put.docstring) == ("method", "Store", "Put one.")
    assert chunks["import"].kind == "block" and chunks["import"].start_line == 1


@pytest.mark.parametrize(
    ("path", "source", "name", "kind", "lines"),
    [
        ("a.js", "// adds\nfunction add(a, b) {\n  return a + b\n}\n",
         "add", "function", (1, 4)),
        ("a.ts", "export class A {\n  f(x: number): number { return x }\n}\n",
         "f", "method", (2, 2)),
        ("a.go", "package x\n\nfunc (s *Server) Run() error {\n\treturn nil\n}\n",
         "Run", "method", (3, 5)),
        ("a.rs", "/// doc\nfn main() {\n    run();\n}\n", "main", "function", (1, 4)),
        ("A.java", "class A {\n  int f(int x) {\n    return x;\n  }\n}\n",
         "f", "method", (2, 4)),
        ("a.c", "#include <x.h>\nstatic int *make(int n) {\n  return 0;\n}\n",
         "make", "function", (2, 4)),
        ("a.cpp", "int A::g() const {\n  return 1;\n}\n", "g", "method", (1, 3)),
    ],
)  # fmt: skip
def test_other_languages_are_chunked_by_syntax(
    path: str, source: str, name: str, kind: str, lines: tuple[int, int]
) -> None:
    found = {c.name: c for c in chunk_file(path, source)}
    assert name in found, found
    assert found[name].kind == kind
    assert (found[name].start_line, found[name].end_line) == lines


def test_unknown_files_and_parse_failures_use_the_indentation_fallback() -> None:
    notes = "# Title\n\nSome text.\n\n## Usage\n\nRun it.\n"
    assert [(c.kind, c.start_line, c.end_line) for c in chunk_file("README.md", notes)] == [
        ("block", 1, 7)
    ]
    broken = "def ok():\n    return 1\n\ndef broken(:\n  pass\n\n)))\nx = [\n"
    chunks = chunk_file("broken.py", broken)
    assert any(c.name == "ok" and c.kind == "function" for c in chunks)
    covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
    assert {1, 4, 7, 8} <= covered  # every non-blank line is in some chunk


# Context for the AI --------------------------------------------------------------------


def test_prompt_context_cites_chunks_within_the_budget() -> None:
    hits = [
        SearchHit("pkg/a.py", 10, 12, 2.0, "def a():\n    return 1\n"),
        SearchHit("pkg/b.py", 3, 40, 1.5, "\n".join(f"line {n}" for n in range(38))),
        SearchHit("pkg/c.py", 1, 2, 1.0, "def c():\n    pass"),
    ]
    full = format_for_prompt(hits, 10_000)
    assert "pkg/a.py:10-12\n```py\ndef a():" in full and "pkg/c.py:1-2" in full
    small = format_for_prompt(hits, 60)
    assert estimate_tokens(small) <= 60
    assert "pkg/a.py:10-12" in small and "pkg/b.py" not in small and "pkg/c.py:1-2" in small
    cut = format_for_prompt(hits[1:2], 50)
    assert cut.startswith("Code from this workspace") and "pkg/b.py:3-" in cut
    assert estimate_tokens(cut) <= 50
    assert format_for_prompt(hits, 5) == ""
