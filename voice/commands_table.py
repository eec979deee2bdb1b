"""The voice grammar as data: command id, argument slot, and the ways people say it.

Phrase syntax: `[a|b]` optional words, `(a|b)` one of, `{slot}` the argument (always
last). Slot kinds: `number`, `path`, `identifier`, `text`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    command: str
    phrases: tuple[str, ...]
    slot: str | None = None  # argument name
    kind: str = "text"  # how the slot's words become its value
    canonical: str = ""  # how the rule is said, for rescoring and hints


RULES: tuple[Rule, ...] = (
    Rule(
        "editor.openFile",
        (
            "open [the] [file] {path}",
            "open up {path}",
            "(show|edit) [me] [the] [file] {path}",
            "(go|switch) to [the] file {path}",
        ),
        "path",
        "path",
        "open file",
    ),
    Rule(
        "editor.closeFile",
        ("close [this|the|that] [file|tab|editor]", "close it"),
        canonical="close the file",
    ),
    Rule(
        "editor.save",
        ("save [this|the|that] [file|document|changes]", "save it", "save all", "save everything"),
        canonical="save the file",
    ),
    Rule(
        "editor.undo",
        ("undo [that|this|it|the last change]", "take that back", "revert that"),
        canonical="undo",
    ),
    Rule("editor.redo", ("redo [that|this|it]", "do it again"), canonical="redo that"),
    Rule(
        "editor.format",
        ("[re]format [this|the] [file|document|code]", "format it", "prettify [the] [file|code]"),
        canonical="format the document",
    ),
    Rule(
        "editor.gotoLine",
        (
            "(go|jump|skip|move|navigate|scroll|goto) to line [number] {line}",
            "take me to line [number] {line}",
            "goto line [number] {line}",
            "line [number] {line}",
        ),
        "line",
        "number",
        "go to line",
    ),
    Rule(
        "editor.toggleComment",
        (
            "(toggle|add|remove) [a] comment[s]",
            "toggle comments",
            "comment [out] [this|that|the] [line|lines|code]",
            "uncomment [this|that|the] [line|lines|code]",
        ),
        canonical="toggle comment",
    ),
    Rule(
        "lsp.definition",
        (
            "(go|jump|take me) to [the] definition",
            "(show|find|open) [me] [the] definition",
            "where is (this|that|it) defined",
            "definition",
        ),
        canonical="go to definition",
    ),
    Rule(
        "lsp.references",
        (
            "(find|show|list) [me] [all] [the] (references|usages|uses)",
            "where is (this|that|it) used",
            "who calls (this|that|it)",
            "references",
        ),
        canonical="find all references",
    ),
    Rule(
        "lsp.rename",
        (
            "rename [this|it|that] to {to}",
            "rename [the] (symbol|variable|function|method|class) to {to}",
            "change [the] name to {to}",
        ),
        "to",
        "identifier",
        "rename this to",
    ),
    Rule(
        "search.workspace",
        (
            "search [the] (workspace|project|files|code) for {query}",
            "search for {query}",
            "search {query}",
            "find in (files|workspace|project) {query}",
            "look for {query}",
            "grep [for] {query}",
        ),
        "query",
        "text",
        "search for",
    ),
    Rule(
        "test.run",
        (
            "run [the|all] [the] [unit] tests",
            "run [the] test suite",
            "run [the] test",
            "test (it|this|everything)",
        ),
        canonical="run the tests",
    ),
    Rule(
        "file.run",
        (
            "run (this|the|current) (file|script|program)",
            "run the current (file|script|program)",
            "run it",
            "execute [this|the] [file|script|program]",
        ),
        canonical="run this file",
    ),
    Rule(
        "terminal.new",
        (
            "[open|create|launch|start] [a|the] new terminal",
            "(open|launch|start) [a|the] terminal",
            "new shell",
        ),
        canonical="open a new terminal",
    ),
    Rule(
        "git.commit",
        (
            "commit with [the] message {message}",
            "commit [the] [changes|everything|all] with [the] message {message}",
            "git commit [with] [the] [message] {message}",
            "commit message {message}",
            "commit {message}",
        ),
        "message",
        "text",
        "commit with message",
    ),
    Rule(
        "git.status",
        ("[show] [the|me] git status", "what (changed|has changed)", "show [me] [the] changes"),
        canonical="git status",
    ),
    Rule(
        "debug.start",
        (
            "start [the] (debugging|debugger|debug session)",
            "(begin|launch|run) [the] (debugging|debugger)",
            "debug (this|it|the file|this file)",
        ),
        canonical="start debugging",
    ),
    Rule(
        "debug.stop",
        ("(stop|end|quit|exit) [the] (debugging|debugger|debug session)",),
        canonical="stop debugging",
    ),
    Rule(
        "debug.continue",
        ("continue [running|execution]", "resume [execution]", "keep going"),
        canonical="continue",
    ),
    Rule("debug.stepOver", ("step over [this|that|it]", "next line"), canonical="step over"),
    Rule("debug.stepInto", ("step (into|in) [this|that|it]",), canonical="step into"),
    Rule(
        "debug.stepOut",
        ("step out [of] [this|that|the] [function]",),
        canonical="step out",
    ),
    Rule(
        "debug.toggleBreakpoint",
        (
            "(set|add|toggle|remove|put|place|clear) [a|the] breakpoint (on|at) line {line}",
            "breakpoint (on|at) line {line}",
            "(set|add|toggle|put) [a] breakpoint line {line}",
        ),
        "line",
        "number",
        "set a breakpoint on line",
    ),
    Rule(
        "ai.explain",
        (
            "explain [this|that|the] [code|function|line|file|selection|method|class|error]",
            "what does (this|that|it) [code|function] do",
        ),
        canonical="explain this function",
    ),
    Rule(
        "ai.fix",
        (
            "fix [this|that|it|the] [bug|error|code|function|problem|issue|line]",
            "fix (this|that|the) (bug|error|problem|issue)",
        ),
        canonical="fix this",
    ),
    Rule(
        "ai.generate",
        ("(write|generate|implement) [me] {prompt}", "create a function {prompt}"),
        "prompt",
        "text",
        "write",
    ),
)

# Words a small model hears instead of the grammar's, fixed before matching. Multi-word
# keys are replaced as whole phrases.
SOUNDS_LIKE: dict[str, str] = {
    "online": "on line",
    "break point": "breakpoint",
    "brake point": "breakpoint",
    "read me": "readme",
    "go 2": "go to",
    "go too": "go to",
    "got to": "go to",
    "goto": "go to",
    "jump 2": "jump to",
    "snake k": "snake case",
    "camel k": "camel case",
    "camelcase": "camel case",
    "snakecase": "snake case",
    "pascalcase": "pascal case",
    "kebabcase": "kebab case",
    "kebab k": "kebab case",
    "re do": "redo",
    "un do": "undo",
    "de bugging": "debugging",
    "the bugging": "debugging",
    "debug in": "debugging",
}

# Said before or after a command without changing it.
FILLERS_BEFORE = ("please", "can you", "could you", "now", "okay", "ok", "hey", "and", "so", "then")
FILLERS_AFTER = ("please", "now", "for me", "thanks", "thank you")

# "choose two", "pick the second", "option 2", "number two", "the second one"
CHOICE_PHRASES = (
    "(choose|pick|select|take|use) [the] [option|number|alternative] {n} [one]",
    "(option|number|alternative) {n}",
    "the {n} one",
)
