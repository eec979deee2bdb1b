"""The pieces of the extension API that need no server: signatures (checked against the
test's own Standard Webhooks verifier), the SSRF guard, and the event names."""

from __future__ import annotations

import base64
import ipaddress
import time

import pytest

from extensions import signing
from extensions.catalog import EVENTS, translate
from extensions.http import HttpClient
from extensions.targets import TargetPolicy, TargetRefused, blocked_reason
from server.ai.events import ChatPosted
from server.core import CommandExecuted
from server.errors import InvalidInput, Unauthorized
from server.git.events import GitChanged
from server.terminals.manager import TerminalOpened
from tests._receiver import sign_request, verify_signature

pytestmark = pytest.mark.unit


def test_signatures_follow_standard_webhooks() -> None:
    secret = signing.new_secret()
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    old = signing.new_secret()
    body = b'{"type":"file.saved"}'
    headers = signing.headers([secret, old], "msg_abc", body)
    verify_signature(secret, headers, body)
    verify_signature(old, headers, body)
    with pytest.raises(AssertionError):
        verify_signature(signing.new_secret(), headers, body)


def test_signed_requests_to_nexus_are_verified() -> None:
    secret = signing.new_secret()
    body = b'{"text":"hi"}'
    now = int(time.time())
    assert signing.verify([secret], sign_request(secret, body, "msg_1", now), body) == "msg_1"
    rotated = [signing.new_secret(), secret]  # during a rotation the old one still counts
    assert signing.verify(rotated, sign_request(secret, body, "msg_2", now), body) == "msg_2"
    bad = {
        "forged": sign_request(signing.new_secret(), body, "msg_3", now),
        "stale": sign_request(secret, body, "msg_4", now - 600),
        "future": sign_request(secret, body, "msg_5", now + 600),
        "unsigned": {},
    }
    for why, headers in bad.items():
        with pytest.raises(Unauthorized):
            signing.verify([secret], headers, body)
        assert why
    tampered = sign_request(secret, body, "msg_6", now)
    with pytest.raises(Unauthorized):
        signing.verify([secret], tampered, b'{"text":"bye"}')


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_only_public_addresses_are_targets(address: str, reason: str | None) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


def test_allowed_hosts_and_networks_open_the_guard() -> None:
    policy = TargetPolicy.from_settings(["127.0.0.1", "10.0.0.0/8", "hooks.internal"])
    policy.check_address("127.0.0.1", "127.0.0.1")
    policy.check_address("ci", "10.9.8.7")
    policy.check_address("hooks.internal", "192.168.1.1")  # a listed name may resolve anywhere
    with pytest.raises(TargetRefused, match="private"):
        policy.check_address("other", "192.168.1.1")


async def test_urls_are_checked_at_registration() -> None:
    policy = TargetPolicy()
    for url, words in (
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:8080/", "loopback"),
        ("file:///etc/passwd", "http and https"),
        ("http://user:pw@93.184.216.34/", "credentials"),
        ("http:///nohost", "no host"),
    ):
        with pytest.raises(InvalidInput, match=words):
            await policy.check_url(url)
    await policy.check_url("https://93.184.216.34/hook")


async def test_the_guard_runs_again_on_every_connection() -> None:
    """What was public at registration may resolve elsewhere later (DNS rebinding): the
    client checks the address it is about to connect to, every time."""
    client = HttpClient(TargetPolicy(), timeout=2)
    try:
        for url in ("http://127.0.0.1:9/", "http://localhost:9/", "http://169.254.169.254/"):
            with pytest.raises(TargetRefused):
                await client.post(url, b"{}", {}, 100)
    finally:
        await client.close()


def test_bus_events_become_stable_event_names() -> None:
    commit = GitChanged(workspace_id="w1", action="commit", username="al", head="abc")
    occurrence = translate(commit)
    assert occurrence is not None and occurrence.name == "git.committed"
    assert occurrence.data == {
        "workspace": "w1",
        "action": "commit",
        "username": "al",
        "branch": None,
        "head": "abc",
    }
    assert translate(GitChanged(workspace_id="w1", action="stage", username="al")) is None
    chat = ChatPosted(
        workspace_id="w1", kind="message", data={"workspace": "w1", "thread": "t", "text": "hi"}
    )
    said = translate(chat)
    assert said is not None and said.name == "chat.message"
    assert said.data == {"workspace": "w1", "thread": "t", "text": "hi"}
    opened = translate(TerminalOpened(workspace_id="w1", terminal_id="t1", name="bash", user_id=1))
    assert opened is not None and opened.name == "terminal.opened"
    ran = CommandExecuted(
        workspace_id="w1",
        command="files.read",
        username="al",
        source="rest",
        ok=True,
        duration_ms=1.0,
    )
    found = translate(ran)
    assert found is not None and found.name in EVENTS
