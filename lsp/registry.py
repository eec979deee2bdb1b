"""Which language servers serve which language, how to start them, what each is for.

A language may be served by several servers at once (Python: jedi for navigation and
completion, ruff for diagnostics and formatting); the bridge sends each request to the
servers that own its method and merges their answers, as VS Code does.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

NAVIGATION = frozenset(
    {
        "textDocument/completion",
        "completionItem/resolve",
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/declaration",
        "textDocument/typeDefinition",
        "textDocument/implementation",
        "textDocument/references",
        "textDocument/documentHighlight",
        "textDocument/documentSymbol",
        "textDocument/signatureHelp",
        "textDocument/rename",
        "textDocument/prepareRename",
        "textDocument/foldingRange",
        "textDocument/selectionRange",
        "workspace/symbol",
    }
)
LINTING = frozenset(
    {
        "textDocument/codeAction",
        "codeAction/resolve",
        "textDocument/formatting",
        "textDocument/rangeFormatting",
        "textDocument/diagnostic",
    }
)
EVERYTHING = NAVIGATION | LINTING


@dataclass(frozen=True)
class ServerSpec:
    name: str
    command: tuple[str, ...]
    methods: frozenset[str]  # requests this server answers for its language
    diagnostics: bool = True  # whether its publishDiagnostics are shown
    initialization_options: dict[str, Any] = field(default_factory=dict)
    warm_up: str | None = None  # a line whose completion at its end warms the server
    cache: str | None = None  # its cache folder in HOME, given warm to each new workspace


# The extensions each language id covers (the id is the one LSP clients send).
LANGUAGES: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi"),
    "typescript": (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs"),
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".hpp", ".hh"),
    "go": (".go",),
    "rust": (".rs",),
}
ALIASES = {
    "javascript": "typescript",
    "typescriptreact": "typescript",
    "javascriptreact": "typescript",
}

# jedi starts every request from an empty inference state: only parsed files outlive a
# request, so completing `os.` re-infers the module each time (flow analysis of its
# platform branches, ≈ 0.4 s), in every file; the warm-up cannot carry that over.
# What makes it cheap: `os` is imported and read at run time (it is the stdlib: safe to
# import; ≈ 15 ms instead of ≈ 400 ms), and completion items carry no call snippets,
# which cost one signature inference per function listed (≈ 0.1 to 0.25 s for `os.`);
# an editor adds the parentheses itself.
JEDI_OPTIONS: dict[str, Any] = {
    "diagnostics": {"enable": False},
    "completion": {"disableSnippets": True},
    "jediSettings": {"autoImportModules": ["os"]},
}

CANDIDATES: dict[str, tuple[ServerSpec, ...]] = {
    "python": (
        ServerSpec(
            "jedi",
            ("jedi-language-server",),
            NAVIGATION,
            diagnostics=False,  # ruff's are the ones shown; jedi's syntax errors repeat them
            initialization_options=JEDI_OPTIONS,
            # A bare name: parses the builtins' stubs (seconds, cold), which `os.` does
            # not need (imported at run time); parsed files outlive requests.
            warm_up="import os; pri",
            cache=".cache/jedi",
        ),
        ServerSpec("ruff", ("ruff", "server"), LINTING),
    ),
    "typescript": (
        ServerSpec("typescript", ("typescript-language-server", "--stdio"), EVERYTHING),
    ),
    "c": (ServerSpec("clangd", ("clangd",), EVERYTHING),),
    "cpp": (ServerSpec("clangd", ("clangd",), EVERYTHING),),
    "go": (ServerSpec("gopls", ("gopls",), EVERYTHING),),
    "rust": (ServerSpec("rust-analyzer", ("rust-analyzer",), EVERYTHING),),
}
# pylsp serves Python alone when jedi-language-server is missing.
FALLBACKS: dict[str, tuple[ServerSpec, ...]] = {
    "python": (ServerSpec("pylsp", ("pylsp",), EVERYTHING),),
}


def language_of(path: str) -> str | None:
    """The language id of a file, from its extension."""
    suffix = PurePosixPath(path).suffix.lower()
    for language, suffixes in LANGUAGES.items():
        if suffix in suffixes:
            return language
    return None


def normalize(language: str) -> str:
    return ALIASES.get(language.lower(), language.lower())


@functools.cache
def _which(program: str) -> str | None:
    """A program on PATH, or next to our own interpreter (the virtualenv's bin)."""
    found = shutil.which(program)
    if found:
        return found
    local = Path(sys.executable).parent / program
    return str(local) if local.is_file() and os.access(local, os.X_OK) else None


def servers_for(language: str) -> list[ServerSpec]:
    """The servers installed for a language (cached: PATH does not change under us)."""
    language = normalize(language)
    found = [_resolve(spec) for spec in CANDIDATES.get(language, ())]
    servers = [spec for spec in found if spec is not None]
    if not any(spec.methods & NAVIGATION for spec in servers):
        servers += [s for s in map(_resolve, FALLBACKS.get(language, ())) if s is not None]
    return servers


def _resolve(spec: ServerSpec) -> ServerSpec | None:
    program = _which(spec.command[0])
    if program is None:
        return None
    return dataclasses.replace(spec, command=(program, *spec.command[1:]))
