"""What to run for "run this file" and "run the tests": command lines chosen from a file's
extension and from the project's marker files, as VS Code's run buttons and test explorers
do. Pure functions of the workspace folder and of `which` (what the workspace's sandbox
has: a tool the server has but the sandbox lacks is refused here, not at exec); nothing is
started here."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from server.errors import InvalidInput

PYTHON_MARKERS = ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "conftest.py")
NPM_DEFAULT_TEST = 'echo "Error: no test specified" && exit 1'
VENVS = (".venv", "venv", "env")

# A program (a name on the workspace processes' PATH, or a path) as they would run it, or
# None when it is not there for them: `Supervisor.which` bound to the workspace.
Which = Callable[[str], str | None]

# extension → the program that runs such a file (`python` stands for the workspace's)
INTERPRETERS: dict[str, list[str]] = {
    ".py": ["python"],
    ".js": ["node"],
    ".mjs": ["node"],
    ".cjs": ["node"],
    ".sh": ["bash"],
    ".bash": ["bash"],
    ".go": ["go", "run"],
    ".rb": ["ruby"],
    ".pl": ["perl"],
    ".php": ["php"],
    ".lua": ["lua"],
}

# A single Rust file outside a Cargo project: compile to a temporary binary, run it,
# remove it, keep the program's exit code.
RUSTC_AND_RUN = (
    'out=$(mktemp) && rustc -o "$out" "$1" && { "$out"; code=$?; rm -f "$out"; exit $code; }'
)


def _tool(which: Which, name: str, why: str) -> str:
    found = which(name)
    if found is None:
        raise InvalidInput(f"{name} is not installed where workspace programs run ({why})")
    return found


def workspace_python(root: Path, which: Which) -> str:
    """The workspace's own virtualenv when it has one, else the server's interpreter
    (its virtualenv is there, read-only, in every sandbox)."""
    for venv in VENVS:
        path = root / venv / "bin" / "python"
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        if which(str(path)) is None:
            raise InvalidInput(
                f"{venv}/bin/python runs {os.path.realpath(path)}, which is not there inside "
                "the workspace sandbox: recreate the virtualenv with a system Python"
            )
        return str(path)
    server = sys.executable and which(sys.executable)
    return server or _tool(which, "python3", "needed to run Python")


def run_file_command(root: Path, relative: str, path: Path, which: Which) -> list[str]:
    """The command line that runs one file, from the workspace folder."""
    if not path.is_file():
        raise InvalidInput(f"path: {relative} is not a file")
    suffix = path.suffix.lower()
    if suffix == ".rs":
        return _rust_command(root, relative, path, which)
    interpreter = INTERPRETERS.get(suffix)
    if interpreter is not None:
        program, *options = interpreter
        if program == "python":
            program = workspace_python(root, which)
        else:
            program = _tool(which, program, f"needed to run {suffix} files")
        return [program, *options, relative]
    if os.access(path, os.X_OK):
        return ["./" + relative]
    raise InvalidInput(
        f"path: don't know how to run {suffix or 'extension-less'} files "
        "(make the file executable to run it directly)"
    )


def _rust_command(root: Path, relative: str, path: Path, which: Which) -> list[str]:
    for folder in path.parents:
        if not folder.is_relative_to(root):
            break
        manifest = folder / "Cargo.toml"
        if manifest.is_file():
            cargo = _tool(which, "cargo", "needed to run Rust projects")
            return [cargo, "run", "--manifest-path", str(manifest.relative_to(root))]
    _tool(which, "rustc", "needed to run .rs files")
    return ["/bin/sh", "-c", RUSTC_AND_RUN, "rustc-run", relative]


def tests_command(root: Path, target: str | None, which: Which) -> list[str]:
    """The project's test runner: pytest, npm test, go test or cargo test, first found."""
    if _is_python_project(root):
        return [*_pytest(root, which), *([target] if target else [])]
    package = root / "package.json"
    if package.is_file() and _has_npm_test(package):
        return [_tool(which, "npm", "needed for npm test"), "test"]
    if (root / "go.mod").is_file():
        where = f"./{target}/..." if target and (root / target).is_dir() else "./..."
        return [_tool(which, "go", "needed for go test"), "test", where]
    if (root / "Cargo.toml").is_file():
        return [_tool(which, "cargo", "needed for cargo test"), "test"]
    raise InvalidInput(
        "no test runner found: looked for pytest (pyproject.toml, setup.cfg, pytest.ini, "
        "tox.ini, conftest.py, tests/), a `test` script in package.json, go.mod and Cargo.toml"
    )


def _is_python_project(root: Path) -> bool:
    if any((root / marker).is_file() for marker in PYTHON_MARKERS):
        return True
    return any(
        (root / folder).is_dir() and any((root / folder).glob("*.py"))
        for folder in ("tests", "test")
    )


def _pytest(root: Path, which: Which) -> list[str]:
    python = workspace_python(root, which)
    if python != sys.executable or importlib.util.find_spec("pytest") is not None:
        return [python, "-m", "pytest"]
    return [_tool(which, "pytest", "needed to run the tests")]


def _has_npm_test(package: Path) -> bool:
    try:
        scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts") or {}
    except (OSError, ValueError, AttributeError):
        return False
    test = scripts.get("test") if isinstance(scripts, dict) else None
    return isinstance(test, str) and bool(test.strip()) and test.strip() != NPM_DEFAULT_TEST
