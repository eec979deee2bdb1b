"""The spoken-command grammar on its own (no audio): transcripts whisper really produced."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.errors import InvalidInput
from voice.cursor import Cursor, place
from voice.grammar import CHAT, Vocabulary, parse, spoken_commands
from voice.vocabulary import build_vocabulary

pytestmark = pytest.mark.unit  # starts no server, database or other process


def top(transcript: str, vocab: Vocabulary | None = None) -> tuple[str, dict[str, object]]:
    best = parse(transcript, vocab)[0]
    return best.command, best.args


def test_a_spoken_case_style_names_a_rename_even_when_the_command_was_misheard() -> None:
    # The Scottish voice's "rename this to snake case max retries", as tiny.en heard it.
    assert top("or really missed a snake case mark retries.") == (
        "lsp.rename",
        {"to": "mark_retries"},
    )
    assert top("rename this to camel case max retries") == ("lsp.rename", {"to": "maxRetries"})


def test_a_case_style_inside_a_request_stays_part_of_it() -> None:
    assert top("write a function in snake case") == (
        "ai.generate",
        {"prompt": "a function in snake case"},
    )
    assert top("hello there how are you")[0] == CHAT


def test_workspace_names_are_known_and_searched_as_written(tmp_path: Path) -> None:
    (tmp_path / "dates.py").write_text(
        "import re\n\ndef parse_dates(text):\n    return text\n\n"
        "class DateRange:\n    pass\n\ndef parse_dates_strict(text):\n    return text\n"
    )
    (tmp_path / "app.ts").write_text("export function loadUserProfile(id: string) {}\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text("def vendored_thing():\n    pass\n")
    vocab = build_vocabulary(tmp_path)
    assert set(vocab.symbols) == {
        "parse_dates",
        "DateRange",
        "parse_dates_strict",
        "loadUserProfile",
    }
    prompt = vocab.prompt(symbol_limit=16)
    assert "dates.py" in prompt and "parse dates" in prompt and "load user profile" in prompt
    assert "vendored" not in prompt  # ignored folders add nothing
    assert top("search for parse dates", vocab) == ("search.workspace", {"query": "parse_dates"})
    assert top("search for load user profile", vocab) == (
        "search.workspace",
        {"query": "loadUserProfile"},
    )
    assert top("search for the login bug", vocab) == (
        "search.workspace",
        {"query": "the login bug"},
    )


def test_a_file_named_without_its_extension_is_the_workspace_file() -> None:
    vocab = Vocabulary(["README.md", "main.py", "src/main.ts", "parser.py"])
    assert top("Open the README.", vocab) == ("editor.openFile", {"path": "README.md"})
    assert top("open parser", vocab) == ("editor.openFile", {"path": "parser.py"})
    # two files share the stem: what was said stays as said, not a guess
    assert top("open main", vocab) == ("editor.openFile", {"path": "main"})


def test_a_spoken_command_takes_its_place_from_the_editor() -> None:
    here = Cursor(path="app/main.py", line=12, column=5)
    # LSP positions are 0-based; what was said wins over the cursor
    assert place("lsp.rename", {"to": "total_count"}, here) == {
        "path": "app/main.py",
        "line": 11,
        "character": 4,
        "to": "total_count",
    }
    assert place("ai.fix", {}, here) == {"path": "app/main.py", "line": 12}
    assert place("editor.format", {}, here) == {"path": "app/main.py"}
    assert place("ai.chat", {"text": "why"}, here)["context"] == {"path": "app/main.py", "line": 12}
    assert place("debug.start", {}, here) == {"path": "app/main.py"}
    assert place("debug.toggleBreakpoint", {"line": 30}, here) == {
        "path": "app/main.py",
        "line": 30,
    }
    assert place("debug.toggleBreakpoint", {"line": 30}, Cursor()) == {"line": 30}
    with pytest.raises(InvalidInput, match="send its path"):
        place("file.run", {}, Cursor())


def test_contributed_commands_are_said_by_their_phrases() -> None:
    commands = spoken_commands(
        [("deploy.staging", ["Deploy to staging!", "ship it to staging"]), ("x.none", ["?"])]
    )
    vocab = Vocabulary(["main.py"], commands=commands)
    assert top("Deploy to staging.", vocab) == ("deploy.staging", {})
    assert top("ship it to staging", vocab) == ("deploy.staging", {})
    assert top("save the file", vocab) == ("editor.save", {})  # the table's own still win
    assert top("deploy to staging")[0] == CHAT  # only where they are registered
    assert vocab.prompt().startswith("deploy to staging, ship it to staging, main.py")
