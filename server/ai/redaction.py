"""Secrets stay home: API keys, tokens, private keys, passwords and `.env` values are
replaced by `[REDACTED:kind]` before a prompt leaves the machine."""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field

REDACTED = "[REDACTED:{}]"

# Ordered: the most specific first, so a key is named for what it is.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
    ),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}")),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("slack_token", re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("stripe_key", re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    ("bearer_token", re.compile(r"(?i)(?<=\bbearer )[A-Za-z0-9_\-\.=/+]{16,}")),
    ("url_password", re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")),
]

# `password = "…"`, `API_KEY: …`, `secret=…`: the value after a secret-sounding name.
ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<name>[A-Za-z0-9_.\-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_\-]?key|
        access[_\-]?key|private[_\-]?key|client[_\-]?secret|auth)[A-Za-z0-9_.\-]*)
    (?P<sep>["']?\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"',;]{4,})
    """
)

ENV_LINE = re.compile(
    r"(?m)^(?P<lead>\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*)(?P<value>.+)$"
)


@dataclass
class Redactor:
    """Redacts text and keeps count of what it found, by kind."""

    enabled: bool = True
    found: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.found.values())

    def text(self, text: str, *, path: str | None = None) -> str:
        if not self.enabled or not text:
            return text
        if path is not None and is_env_file(path):
            text = self._env(text)
        for kind, pattern in PATTERNS:
            text = pattern.sub(functools.partial(self._replace, kind), text)
        return ASSIGNMENT.sub(self._assignment, text)

    def _replace(self, kind: str, _match: re.Match[str]) -> str:
        return self._hit(kind)

    def _hit(self, kind: str) -> str:
        self.found[kind] += 1
        return REDACTED.format(kind)

    def _assignment(self, match: re.Match[str]) -> str:
        value = match.group("value")
        if value.startswith("[REDACTED") or value.lower() in {
            "none",
            "null",
            "true",
            "false",
            "bearer",
            "basic",
        }:
            return match.group(0)
        return (
            f"{match.group('name')}{match.group('sep')}{match.group('quote')}"
            f"{self._hit('password')}"
        )

    def _env(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group("value").strip().startswith("[REDACTED"):
                return match.group(0)
            return f"{match.group('lead')}{self._hit('env_value')}"

        return ENV_LINE.sub(replace, text)


def is_env_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")
