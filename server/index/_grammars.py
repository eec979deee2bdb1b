"""Which tree-sitter grammar reads which file, and which of its nodes are definitions.

Grammars come compiled inside the `tree-sitter-language-pack` wheel (0.x; the 1.x line
downloads them at run time, which this server never does). A language missing here, or a
grammar that fails to load, leaves its files to the indentation fallback.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

log = logging.getLogger("nexus.index")


@dataclass(frozen=True)
class Grammar:
    language: str
    functions: frozenset[str]
    classes: frozenset[str]
    # Nodes whose inner definition is the chunk, spanning the wrapper (decorators, export).
    wrappers: frozenset[str] = frozenset()
    # `const f = () => …`: a declaration that is a function when its value is one.
    variables: frozenset[str] = frozenset()
    comments: frozenset[str] = field(
        default=frozenset({"comment", "line_comment", "block_comment"})
    )


_JS_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "method_definition"}
)
_JS_CLASSES = frozenset(
    {
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "enum_declaration",
        "type_alias_declaration",
    }
)
_JS_VARIABLES = frozenset({"lexical_declaration", "variable_declaration"})
_C_CLASSES = frozenset({"struct_specifier", "union_specifier", "enum_specifier"})

GRAMMARS: dict[str, Grammar] = {
    "python": Grammar(
        "python",
        frozenset({"function_definition"}),
        frozenset({"class_definition"}),
        wrappers=frozenset({"decorated_definition"}),
    ),
    "javascript": Grammar(
        "javascript",
        _JS_FUNCTIONS,
        _JS_CLASSES,
        wrappers=frozenset({"export_statement"}),
        variables=_JS_VARIABLES,
    ),
    "typescript": Grammar(
        "typescript",
        _JS_FUNCTIONS,
        _JS_CLASSES,
        wrappers=frozenset({"export_statement"}),
        variables=_JS_VARIABLES,
    ),
    "tsx": Grammar(
        "tsx",
        _JS_FUNCTIONS,
        _JS_CLASSES,
        wrappers=frozenset({"export_statement"}),
        variables=_JS_VARIABLES,
    ),
    "go": Grammar(
        "go",
        frozenset({"function_declaration", "method_declaration"}),
        frozenset({"type_declaration"}),
    ),
    "rust": Grammar(
        "rust",
        frozenset({"function_item", "function_signature_item"}),
        frozenset({"impl_item", "struct_item", "enum_item", "trait_item", "union_item"}),
    ),
    "java": Grammar(
        "java",
        frozenset({"method_declaration", "constructor_declaration"}),
        frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
                "annotation_type_declaration",
            }
        ),
    ),
    "c": Grammar("c", frozenset({"function_definition"}), _C_CLASSES),
    "cpp": Grammar(
        "cpp",
        frozenset({"function_definition"}),
        _C_CLASSES | {"class_specifier"},
        wrappers=frozenset({"template_declaration"}),
    ),
    "csharp": Grammar(
        "csharp",
        frozenset({"method_declaration", "constructor_declaration", "local_function_statement"}),
        frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "struct_declaration",
                "enum_declaration",
                "record_declaration",
            }
        ),
    ),
    "ruby": Grammar(
        "ruby", frozenset({"method", "singleton_method"}), frozenset({"class", "module"})
    ),
    "kotlin": Grammar(
        "kotlin",
        frozenset({"function_declaration"}),
        frozenset({"class_declaration", "object_declaration"}),
    ),
    "php": Grammar(
        "php",
        frozenset({"function_definition", "method_declaration"}),
        frozenset({"class_declaration", "interface_declaration", "trait_declaration"}),
    ),
    "scala": Grammar(
        "scala",
        frozenset({"function_definition"}),
        frozenset({"class_definition", "object_definition", "trait_definition"}),
    ),
    "swift": Grammar(
        "swift",
        frozenset({"function_declaration"}),
        frozenset({"class_declaration", "protocol_declaration"}),
    ),
    "lua": Grammar("lua", frozenset({"function_declaration"}), frozenset()),
    "bash": Grammar("bash", frozenset({"function_definition"}), frozenset()),
}

EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".php": "php",
    ".scala": "scala",
    ".swift": "swift",
    ".lua": "lua",
    ".sh": "bash",
    ".bash": "bash",
}


def grammar_for(path: str) -> Grammar | None:
    return GRAMMARS.get(EXTENSIONS.get(PurePosixPath(path).suffix.lower(), ""))


_local = threading.local()  # a parser is not safe to share between threads


def parser_for(language: str) -> Any | None:
    """This thread's parser for a language, or None when its grammar cannot load."""
    parsers: dict[str, Any] = _local.__dict__.setdefault("parsers", {})
    if language not in parsers:
        try:
            from tree_sitter_language_pack import get_parser

            parsers[language] = get_parser(language)  # type: ignore[arg-type]
        except Exception:
            log.warning("no tree-sitter grammar for %s; using the fallback", language)
            parsers[language] = None
    return parsers[language]
