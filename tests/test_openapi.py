"""`/openapi.json` is a valid OpenAPI 3.1 document, and the live server keeps to it:
schemathesis sends generated requests (valid and invalid) to every operation and finds
no server error and no status code, content type or body the document does not allow."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tests.conftest import ADMIN_TOKEN, RunningServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# What schemathesis checks: server errors, and answers that contradict the document.
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
# A fixed seed keeps `make test` repeatable; set NEXUS_FUZZ_SEED to explore further.
SEED = os.environ.get("NEXUS_FUZZ_SEED", "20260117")
FUZZ_SECONDS = 150  # the run takes ~15-30 s; the limit only stops a run gone wrong


async def test_openapi_document_is_valid_openapi_3_1(nexus: RunningServer) -> None:
    spec = (await nexus.http.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises, saying where, on any violation of the OpenAPI 3.1 schema
    # Every route answers errors in one documented shape.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], f"{method.upper()} {path}"


async def fixture_workspace(nexus: RunningServer) -> str:
    """A workspace with a file, a folder and a commit, so that operations on
    `{workspace_id}` and on paths reach their handlers instead of answering 404."""
    workspace = await nexus.create_workspace(ADMIN_TOKEN, "fuzz")
    root = Path(workspace["path"])
    (root / "a.txt").write_text("hello\n")
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('hi')\n")
    base = f"/api/v1/workspaces/{workspace['id']}/git"
    for path, body in (
        ("init", None),
        ("stage", {"paths": ["a.txt", "src"]}),
        ("commit", {"message": "m"}),
    ):
        answer = await nexus.http.post(f"{base}/{path}", json=body, headers=ADMIN)
        assert answer.status_code in (200, 201), answer.text
    return str(workspace["id"])


def write_config(folder: Path, workspace_id: str, scratch_id: str) -> Path:
    """schemathesis.toml: the real workspace id for every `{workspace_id}`, and real
    paths for path parameters most of the time (the rest stays fuzzed)."""
    config = folder / "schemathesis.toml"
    config.write_text(
        f"""
[dictionaries.paths]
values = ["a.txt", "src", "src/main.py"]

[parameters]
workspace_id = "{workspace_id}"
"path.path" = {{ dictionary = "paths", probability = 0.6 }}
"query.path" = {{ dictionary = "paths", probability = 0.6 }}

# Deleting the workspace (or its files) would leave the other operations nothing to
# act on: those deletions get a workspace of their own.
[[operations]]
include-method = "DELETE"
include-path-regex = '^/api/v1/workspaces/[{{]workspace_id[}}](/files/.*)?$'
parameters = {{ workspace_id = "{scratch_id}" }}
"""
    )
    return config


@pytest.mark.timeout(FUZZ_SECONDS + 60)
async def test_schemathesis_finds_no_server_error_or_contradiction(
    nexus: RunningServer, tmp_path: Path
) -> None:
    scratch = await nexus.create_workspace(ADMIN_TOKEN, "scratch")
    config = write_config(tmp_path, await fixture_workspace(nexus), scratch["id"])
    command = [
        *(sys.executable, "-m", "schemathesis.cli"),
        *("--config-file", str(config), "--no-color", "run", f"{nexus.url}/openapi.json"),
        *("--header", f"Authorization: Bearer {ADMIN_TOKEN}", "--checks", CHECKS),
        *("--phases", "examples,coverage,fuzzing", "--max-examples", "5", "--workers", "1"),
        *("--seed", SEED, "--request-timeout", "20"),
    ]
    env = {
        **os.environ,
        # The WAV body of the voice route is sent as raw bytes (tests/_schemathesis_hooks.py).
        "SCHEMATHESIS_HOOKS": "tests._schemathesis_hooks",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), FUZZ_SECONDS)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        pytest.fail(f"schemathesis ran over {FUZZ_SECONDS} s:\n{output.decode()[-6000:]}")
    report = output.decode(errors="replace")
    found = [at for at in (report.find(" ERRORS ="), report.find(" FAILURES =")) if at >= 0]
    assert process.returncode == 0, report[min(found, default=0) :][:12000]
