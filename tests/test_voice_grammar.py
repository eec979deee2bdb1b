"""The spoken-command grammar on its own (no audio): transcripts whisper really produced."""

from __future__ import annotations

from voice.grammar import CHAT, parse


def top(transcript: str) -> tuple[str, dict[str, object]]:
    best = parse(transcript)[0]
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
