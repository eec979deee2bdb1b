"""Cutting a source file into the pieces a reader thinks in: functions, methods and
classes (with their signature, docstring and enclosing class), and blocks for the rest.

A class's chunk is its header, docstring and fields with each method reduced to its
signature, so the class is found by what it holds without repeating every method body
(each method is its own chunk). Lines outside any definition, whole files in languages
without a grammar, and files the parser chokes on go to the indentation fallback.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from server.index import _fallback
from server.index._grammars import Grammar, grammar_for, parser_for

log = logging.getLogger("nexus.index")

MAX_TEXT_CHARS = 16_000  # a chunk's stored text; longer bodies are cut (terms are not)
MAX_SIGNATURE_CHARS = 300
MAX_DOC_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class Chunk:
    path: str
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    kind: str  # function, method, class or block
    name: str
    text: str
    hash: str  # of what the chunk says, so an unchanged chunk is never re-embedded
    parent: str = ""  # the enclosing class, for methods
    signature: str = ""
    docstring: str = ""
    language: str = ""


def make_chunk(
    path: str, start: int, end: int, kind: str, name: str, text: str, **extra: str
) -> Chunk:
    digest = hashlib.sha1(usedforsecurity=False)
    for part in (kind, name, extra.get("parent", ""), text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return Chunk(path, start, end, kind, name, text[:MAX_TEXT_CHARS], digest.hexdigest(), **extra)


def chunk_file(path: str, text: str) -> list[Chunk]:
    """All chunks of one file, in line order. Never raises on odd input."""
    lines = text.splitlines()
    if not lines:
        return []
    grammar = grammar_for(path)
    definitions: list[Chunk] = []
    if grammar is not None:
        try:
            definitions = _Walker(path, text, lines, grammar).run()
        except Exception:
            log.warning("could not parse %s; indexing it by indentation", path, exc_info=True)
            definitions = []
    return _with_gaps(path, lines, definitions, grammar.language if grammar else "")


def _with_gaps(path: str, lines: list[str], found: list[Chunk], language: str) -> list[Chunk]:
    """`found` plus fallback blocks for the lines no top-level definition covers."""
    covered = [False] * (len(lines) + 2)
    for chunk in found:
        for number in range(chunk.start_line, chunk.end_line + 1):
            covered[number] = True
    chunks = list(found)
    number = 1
    while number <= len(lines):
        if covered[number]:
            number += 1
            continue
        first = number
        while number <= len(lines) and not covered[number]:
            number += 1
        for start, end in _fallback.blocks(lines, first, number - 1):
            body = "\n".join(lines[start - 1 : end])
            if body.strip():
                name = _fallback.label(lines[start - 1])
                chunks.append(make_chunk(path, start, end, "block", name, body, language=language))
    chunks.sort(key=lambda c: (c.start_line, c.end_line))
    return chunks


class _Walker:
    """One pass over a syntax tree, collecting definitions."""

    def __init__(self, path: str, text: str, lines: list[str], grammar: Grammar) -> None:
        self.path = path
        self.source = text.encode("utf-8", "surrogatepass")
        self.lines = lines
        self.grammar = grammar
        self.found: list[Chunk] = []
        self.body_line: dict[int, int] = {}  # id(chunk) -> first line of its body

    def run(self) -> list[Chunk]:
        parser = parser_for(self.grammar.language)
        if parser is None:
            return []
        tree = parser.parse(self.source)
        self._visit(tree.root_node, parent="")
        return self.found

    def _visit(self, node: Any, parent: str) -> None:
        for child in node.named_children:
            kind, target = self._definition(child)
            if kind is None:
                if child.type != "ERROR" or child.named_child_count:
                    self._visit(child, parent)
                continue
            if kind == "class":
                name = self._class_name(target)
                members_from = len(self.found)
                self._visit(target, parent=name)
                members = self.found[members_from:]
                self.found.insert(members_from, self._class_chunk(child, target, name, members))
            else:
                self.found.append(self._function_chunk(child, target, parent))

    def _definition(self, node: Any) -> tuple[str | None, Any]:
        """('function' | 'class' | None, the definition node inside a wrapper)."""
        grammar = self.grammar
        if node.type in grammar.wrappers:
            for child in node.named_children:
                kind, target = self._definition(child)
                if kind is not None:
                    return kind, target
            return None, node
        if node.type in grammar.functions:
            return "function", node
        if node.type in grammar.classes:
            if grammar.language in ("c", "cpp") and node.child_by_field_name("body") is None:
                return None, node  # `struct foo x;` uses a type, it does not define one
            return "class", node
        if node.type in grammar.variables and _function_value(node) is not None:
            return "function", node
        return None, node

    def _span(self, outer: Any) -> tuple[int, int]:
        """1-based lines of a definition, with the doc comments right above it."""
        start = outer.start_point[0]
        end = outer.end_point[0] - (1 if outer.end_point[1] == 0 else 0)
        previous = outer.prev_named_sibling
        while previous is not None and previous.type in self.grammar.comments:
            if previous.end_point[0] < start - 1:
                break
            start = previous.start_point[0]
            previous = previous.prev_named_sibling
        return start + 1, max(start, end) + 1

    def _function_chunk(self, outer: Any, node: Any, parent: str) -> Chunk:
        start, end = self._span(outer)
        name = self._function_name(node)
        if self.grammar.language == "go" and node.type == "method_declaration":
            parent = _go_receiver(node) or parent
        if "::" in name and not parent:
            parent, _, name = name.rpartition("::")
        chunk = make_chunk(
            self.path,
            start,
            end,
            "method" if parent else "function",
            name,
            "\n".join(self.lines[start - 1 : end]),
            parent=parent,
            signature=self._signature(node),
            docstring=self._docstring(outer, node, start),
            language=self.grammar.language,
        )
        body = self._body(node)
        self.body_line[id(chunk)] = body.start_point[0] + 1 if body is not None else end
        return chunk

    def _class_chunk(self, outer: Any, node: Any, name: str, members: list[Chunk]) -> Chunk:
        start, end = self._span(outer)
        skip: set[int] = set()
        for member in members:
            if member.kind == "method" and member.parent == name:
                keep = self.body_line.get(id(member), member.end_line)
                skip.update(range(keep + 1, member.end_line + 1))
        text = "\n".join(
            line for n, line in enumerate(self.lines[start - 1 : end], start) if n not in skip
        )
        return make_chunk(
            self.path,
            start,
            end,
            "class",
            name,
            text,
            signature=self._signature(node),
            docstring=self._docstring(outer, node, start),
            language=self.grammar.language,
        )

    def _text(self, node: Any) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def _function_name(self, node: Any) -> str:
        if node.type in self.grammar.variables:
            declarator = _function_value(node)
            name = declarator.child_by_field_name("name") if declarator is not None else None
            return self._text(name) if name is not None else ""
        named = node.child_by_field_name("name")
        if named is not None:
            return self._text(named)
        declarator = node.child_by_field_name("declarator")
        while declarator is not None:  # C and C++: int *(*name)(args)
            inner = declarator.child_by_field_name("declarator")
            if inner is None:
                return self._text(declarator)
            declarator = inner
        return ""

    def _class_name(self, node: Any) -> str:
        named = node.child_by_field_name("name") or node.child_by_field_name("type")
        if named is None:  # Go: type_declaration > type_spec(name)
            for child in node.named_children:
                named = child.child_by_field_name("name")
                if named is not None:
                    break
        return self._text(named) if named is not None else ""

    def _body(self, node: Any) -> Any | None:
        body = node.child_by_field_name("body")
        if body is None and node.type in self.grammar.variables:
            declarator = _function_value(node)
            value = declarator.child_by_field_name("value") if declarator is not None else None
            body = value.child_by_field_name("body") if value is not None else None
        return body

    def _signature(self, node: Any) -> str:
        body = self._body(node)
        end = body.start_byte if body is not None else node.end_byte
        text = self.source[node.start_byte : end].decode("utf-8", "replace")
        if body is None:
            text = text.split("\n", 1)[0]
        return text.rstrip(" {:\n\t")[:MAX_SIGNATURE_CHARS]

    def _docstring(self, outer: Any, node: Any, start: int) -> str:
        if self.grammar.language == "python":
            body = node.child_by_field_name("body")
            first = body.named_children[0] if body is not None and body.named_children else None
            if first is not None and first.type == "expression_statement":
                first = first.named_children[0] if first.named_children else None
            if first is not None and first.type == "string":
                return _unquote(self._text(first))[:MAX_DOC_CHARS]
            return ""
        # Elsewhere: the comments right above the definition (already in its span).
        above = self.lines[start - 1 : outer.start_point[0]]
        cleaned = (line.strip().lstrip("/*#!-").rstrip("*/").strip() for line in above)
        return "\n".join(line for line in cleaned if line)[:MAX_DOC_CHARS]


def _unquote(literal: str) -> str:
    literal = literal.lstrip("rbuRBUfF")
    for quote in ('"""', "'''", '"', "'"):
        if literal.startswith(quote) and literal.endswith(quote) and len(literal) >= 2 * len(quote):
            return literal[len(quote) : -len(quote)].strip()
    return literal.strip()


def _function_value(node: Any) -> Any | None:
    """The declarator of `const f = () => …` (or `function () {}`), if there is one."""
    for child in node.named_children:
        if child.type == "variable_declarator":
            value = child.child_by_field_name("value")
            if value is not None and value.type in (
                "arrow_function",
                "function_expression",
                "function",
                "generator_function",
            ):
                return child
            return None
    return None


def _go_receiver(node: Any) -> str:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    for parameter in receiver.named_children:
        kind = parameter.child_by_field_name("type")
        if kind is not None:
            text: str = kind.text.decode("utf-8", "replace")
            return text.lstrip("*").split("[", 1)[0]
    return ""
