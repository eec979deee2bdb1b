"""Identifiers and paths as people say them: "snake case max retries" → `max_retries`,
"main dot py" → `main.py`, "src slash app dot ts" → `src/app.ts`."""

from __future__ import annotations

import re

CASE_WORDS = {
    "snake": "snake",
    "camel": "camel",
    "pascal": "pascal",
    "kebab": "kebab",
    "constant": "constant",
    "upper": "constant",
    "screaming": "constant",
}
SEPARATORS = {"dot": ".", "slash": "/", "underscore": "_", "dash": "-", "hyphen": "-"}
# Small-model spellings of separators.
SEPARATOR_ALIASES = {"dots": "dot", "point": "dot", "slashes": "slash", "minus": "dash"}


# Compounds a small model writes as one word when people say two ("user name"); split
# only where the speaker asked for a case style, which marks word boundaries.
COMPOUNDS = {
    "username": "user name",
    "filename": "file name",
    "pathname": "path name",
    "hostname": "host name",
    "userid": "user id",
    "classname": "class name",
    "typename": "type name",
    "firstname": "first name",
    "lastname": "last name",
}


def apply_case(style: str, words: list[str]) -> str:
    words = [w for w in (re.sub(r"[^a-z0-9]", "", w.lower()) for w in words) if w]
    words = [part for w in words for part in COMPOUNDS.get(w, w).split()]
    if not words:
        return ""
    if style == "snake":
        return "_".join(words)
    if style == "constant":
        return "_".join(words).upper()
    if style == "kebab":
        return "-".join(words)
    if style == "camel":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if style == "pascal":
        return "".join(w.capitalize() for w in words)
    return " ".join(words)


def identifier(words: list[str]) -> str:
    """An identifier from spoken words: a leading case style ("snake case …") applies to
    the rest; spoken separators are written out; plain words are joined as said."""
    if len(words) >= 3 and words[0] in {"a", "the"} and words[1] in CASE_WORDS:
        words = words[1:]
    if len(words) >= 2 and words[0] in CASE_WORDS and words[1] in {"case", "k", "cased"}:
        return apply_case(CASE_WORDS[words[0]], words[2:])
    if len(words) >= 1 and words[0] in {"snakecase", "camelcase", "pascalcase", "kebabcase"}:
        return apply_case(words[0][:-4], words[1:])
    if any(w in SEPARATORS for w in words):
        return path(words)
    if len(words) == 1:
        return words[0]
    return "_".join(words)


def path(words: list[str]) -> str:
    """A path from spoken words: separators are written out, other words join with no
    space between them ("read me dot md" → `readme.md`)."""
    out: list[str] = []
    for word in words:
        word = SEPARATOR_ALIASES.get(word, word)
        out.append(SEPARATORS.get(word, word))
    return "".join(out)
