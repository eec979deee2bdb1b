"""Merging the answers of several servers to one request, and their capabilities."""

from __future__ import annotations

from typing import Any

# The capability each method needs from a server (absent or false: not asked).
PROVIDERS = {
    "textDocument/completion": "completionProvider",
    "completionItem/resolve": "completionProvider",
    "textDocument/hover": "hoverProvider",
    "textDocument/definition": "definitionProvider",
    "textDocument/declaration": "declarationProvider",
    "textDocument/typeDefinition": "typeDefinitionProvider",
    "textDocument/implementation": "implementationProvider",
    "textDocument/references": "referencesProvider",
    "textDocument/documentHighlight": "documentHighlightProvider",
    "textDocument/documentSymbol": "documentSymbolProvider",
    "textDocument/signatureHelp": "signatureHelpProvider",
    "textDocument/rename": "renameProvider",
    "textDocument/prepareRename": "renameProvider",
    "textDocument/foldingRange": "foldingRangeProvider",
    "textDocument/selectionRange": "selectionRangeProvider",
    "workspace/symbol": "workspaceSymbolProvider",
    "textDocument/codeAction": "codeActionProvider",
    "codeAction/resolve": "codeActionProvider",
    "textDocument/formatting": "documentFormattingProvider",
    "textDocument/rangeFormatting": "documentRangeFormattingProvider",
    "textDocument/diagnostic": "diagnosticProvider",
}

# Methods answered by the first server with an answer; all others are concatenated.
FIRST_ANSWER = frozenset(
    {
        "textDocument/hover",
        "textDocument/signatureHelp",
        "textDocument/rename",
        "textDocument/prepareRename",
        "textDocument/formatting",
        "textDocument/rangeFormatting",
        "completionItem/resolve",
        "codeAction/resolve",
        "textDocument/diagnostic",
    }
)


def merge_results(method: str, results: list[Any]) -> Any:
    answers = [result for result in results if result is not None]
    if not answers:
        return None
    if method in FIRST_ANSWER or len(answers) == 1:
        return answers[0]
    if method == "textDocument/completion":
        items: list[Any] = []
        incomplete = False
        for answer in answers:
            if isinstance(answer, dict):
                items += answer.get("items", [])
                incomplete = incomplete or bool(answer.get("isIncomplete"))
            else:
                items += answer
        return {"isIncomplete": incomplete, "items": items}
    merged: list[Any] = []
    for answer in answers:
        merged += answer if isinstance(answer, list) else [answer]
    return merged


def merge_capabilities(servers: list[tuple[frozenset[str], dict[str, Any]]]) -> dict[str, Any]:
    """What the bridge offers clients: each provider from the server that owns it."""
    capabilities: dict[str, Any] = {
        "positionEncoding": "utf-16",
        # Clients report open/close; the text itself comes from the shared document.
        "textDocumentSync": {"openClose": True, "change": 2},
    }
    for methods, offered in servers:
        for method, provider in PROVIDERS.items():
            if method in methods and offered.get(provider) and provider not in capabilities:
                capabilities[provider] = offered[provider]
    capabilities.pop("diagnosticProvider", None)  # diagnostics are pushed to every client
    return capabilities
