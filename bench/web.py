"""Browser IDE benchmark: how soon the editor is ready, how much JavaScript loads first, and
how long a keystroke takes to show in another person's browser.

A real `nexus serve` (on core 0, `taskset`) serves the built app (a snapshot of web/dist) to
Debian's chromium driven by Playwright (this process pins itself to core 1; Playwright's
driver and chromium inherit that). Per round, with fresh servers and a fresh browser:

- Editor ready: `/w/{workspace}?open=main.py&token=…` (a real user, a 200-line main.py in
  the workspace folder) until `[data-testid=editor] .cm-content` is contenteditable, holds
  the file's text (first line on screen, last line in the editor's document) and the active
  tab is no longer `loading`. An init script polls with requestAnimationFrame from the
  document's start and stamps `performance.now()` (navigation start = 0) when it holds.
  Cold = a fresh browser context (empty cache); warm = the same page navigating again.
  One unmeasured open per round comes first (the server loads the document and starts the
  language servers then). Goal: cold <= 1.5 s. No peer.
- Initial JavaScript: gzip size (zlib level 6, as Vite reports it) of the scripts and
  modulepreloads that dist/index.html names. Goal: <= 500 kB. No peer.
- Keystroke to remote render: alice and bob (two browser contexts) on the same plain-text
  file; alice's page gets single characters, paced, through `keyboard.press`; a capture
  keydown listener in her page stamps `timeOrigin + now()` and a MutationObserver in bob's
  page stamps when the n-th character shows in his editor. Peer, in the same round and with
  the same keystrokes: the same pages with `?yjs=ws://127.0.0.1:{port}`, the provider then
  talking to the stock `@y/websocket-server` (also on core 0). A third pair types into the
  same kind of file in node_modules/, which the workspace watcher ignores: NEXUS without
  what announcing each save to disk sets off in the pages. The pairs type in turns,
  A B C C B A, and the order flips each round. Goal: NEXUS p99 no worse than the stock
  server's.

Medians over the rounds; every page's console errors are reported.

    .venv/bin/python bench/web.py [--rounds 3] [--loads 3] [--keystrokes 200] [--json PATH]

Needs Debian's chromium (/usr/lib/chromium/chromium; never `playwright install`), the built
app (`cd web && npx vite build`) and the node packages (`cd tests/js && npm ci`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "web" / "dist"
CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
EDITOR = "[data-testid=editor] .cm-content"
READY_FILE = "main.py"
# Plain text (no language server, no completion). "ignored": NEXUS, the same file in a folder
# the workspace watcher ignores, so its saves to disk are not announced to the pages.
TYPING_FILES = {"nexus": "notes.txt", "stock": "notes.txt", "ignored": "node_modules/notes.txt"}
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
GOAL_READY_MS = 1500.0
GOAL_JS_KB = 500.0
PAGE_TIMEOUT_MS = 30_000


def load_collab() -> ModuleType:
    """bench/collab/run.py: its pinning, process and server helpers (it is not a package)."""
    spec = importlib.util.spec_from_file_location("collab_run", HERE / "collab" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


collab = load_collab()
ADMIN_TOKEN: str = collab.ADMIN_TOKEN


class BenchError(Exception):
    """Something that stops a measurement; printed with what is known."""


# -- settings ---------------------------------------------------------------------------------


@dataclass
class Plan:
    rounds: int = 3
    loads: int = 3  # cold + warm opens per round
    keystrokes: int = 200
    warmup_keystrokes: int = 20
    interval_ms: float = 30.0
    lines: int = 200
    modes: list[str] = field(default_factory=lambda: ["nexus", "stock", "ignored"])


def parse_args(argv: list[str] | None) -> tuple[Plan, Path | None]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds, fresh servers each (3)")
    parser.add_argument("--loads", type=int, default=3, help="cold+warm opens per round (3)")
    parser.add_argument("--keystrokes", type=int, default=200, help="measured keystrokes (200)")
    parser.add_argument("--warmup-keystrokes", type=int, default=20, help="not measured (20)")
    parser.add_argument("--interval-ms", type=float, default=30.0, help="keystroke pace (30)")
    parser.add_argument("--lines", type=int, default=200, help="lines of main.py (200)")
    parser.add_argument("--json", type=Path, help="also write the medians and every round here")
    args = parser.parse_args(argv)
    if min(args.rounds, args.loads, args.keystrokes, args.lines) < 1:
        parser.error("--rounds, --loads, --keystrokes and --lines must be at least 1")
    plan = Plan(args.rounds, args.loads, args.keystrokes, args.warmup_keystrokes,
                args.interval_ms, args.lines)  # fmt: skip
    return plan, args.json


# -- the built app ----------------------------------------------------------------------------


def initial_scripts(index_html: str) -> list[str]:
    """The JS files index.html loads before anything runs: module scripts and modulepreloads."""
    names = []
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", index_html):
        is_script = tag.startswith("<script")
        is_preload = re.search(r"""\brel=["']?modulepreload""", tag) is not None
        attr = "src" if is_script else "href"
        found = re.search(rf"""\b{attr}=["']([^"']+)["']""", tag)
        if found and (is_script or is_preload) and found.group(1).endswith(".js"):
            names.append(found.group(1))
    return names


def snapshot_dist(target: Path, wait_s: float = 60.0) -> list[Path]:
    """Copy web/dist to `target` (others may rebuild it meanwhile: retry until index.html and
    every file it names are there); returns the initial scripts in the copy."""
    if not DIST.is_dir():
        raise SystemExit(f"the web app is not built (no {DIST}): cd web && npx vite build")
    deadline = time.monotonic() + wait_s
    while True:
        problem = ""
        if not (DIST / "index.html").is_file():
            problem = f"no {DIST / 'index.html'}"
        else:
            shutil.rmtree(target, ignore_errors=True)
            try:
                shutil.copytree(DIST, target, ignore=shutil.ignore_patterns("*.map"))
                scripts = initial_scripts((target / "index.html").read_text())
                files = [target / name.lstrip("/") for name in scripts]
                missing = [str(f) for f in files if not f.is_file()]
                problem = f"index.html names missing files {missing}" if missing else ""
                if not scripts:
                    problem = "index.html names no script"
            except (OSError, shutil.Error) as exc:
                problem = f"copying it failed: {exc}"
            if not problem:
                return files
        if time.monotonic() > deadline:
            raise SystemExit(f"the web app is not built ({problem}): cd web && npx vite build")
        print(f"waiting for web/dist ({problem}; someone may be rebuilding it)", flush=True)
        time.sleep(3)


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


# -- servers ----------------------------------------------------------------------------------


def start_nexus(scratch: Path, web_dir: Path, pinning: Any, children: Any) -> Any:
    """`nexus serve` as bench/collab/run.py starts it, serving the snapshot of the app; the
    speech model is not preloaded (nothing here uses it, and it costs seconds per round)."""
    port = collab.free_port()
    scratch.mkdir(parents=True)
    argv = [*collab.server_argv("nexus", port, scratch), "--web-dir", str(web_dir),
            "--voice-preload", "false"]  # fmt: skip
    with (scratch / "server.log").open("wb") as log:
        process = children.start(
            pinning.server_argv(argv), cwd=scratch, env=collab.server_env(port),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = collab.Server("nexus", process, port, scratch)
    collab.wait_ready(server)
    return server


def api(port: int, method: str, path: str, body: Any = None, token: str = ADMIN_TOKEN) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise BenchError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from None


@dataclass
class Setup:
    url: str
    workspace: str
    tokens: dict[str, str]
    first_line: str
    last_line: str


def python_file(lines: int) -> str:
    """About `lines` lines of plain Python: small classes and functions."""
    out = ['"""A module the benchmark opens."""', "", "import math", ""]
    number = 0
    while len(out) < lines - 2:
        out += [
            "",
            f"class Shape{number}:",
            f"    def __init__(self, size: float = {number}.5) -> None:",
            "        self.size = size",
            "",
            "    def area(self) -> float:",
            f"        return math.pi * self.size ** 2 + {number}",
            "",
            "",
            f"def describe_{number}(items: list[int]) -> str:",
            "    total = sum(item * 2 for item in items if item % 3)",
            f'    return f"{number}: {{total}} over {{len(items)}} items"',
        ]
        number += 1
    out.append(f'print(describe_{number - 1}([1, 2, 3]), "the last line of main.py")')
    return "\n".join(out[: lines - 1] + out[-1:]) + "\n"


def prepare(server: Any, lines: int) -> Setup:
    """alice owns a workspace holding main.py and an empty notes.txt; bob is an editor."""
    tokens = {}
    for name in ("alice", "bob"):
        api(server.port, "POST", "/api/v1/users", {"username": name, "password": "correct horse"})
        login = api(server.port, "POST", "/api/v1/auth/login",
                    {"username": name, "password": "correct horse"})  # fmt: skip
        tokens[name] = str(login["token"])
    workspace = api(server.port, "POST", "/api/v1/workspaces", {"name": "webbench"},
                    token=tokens["alice"])  # fmt: skip
    workspace_id = str(workspace["id"])
    api(server.port, "POST", f"/api/v1/workspaces/{workspace_id}/members",
        {"username": "bob", "role": "editor"}, token=tokens["alice"])  # fmt: skip
    folder = server.scratch / "workspaces" / "webbench"
    if not folder.is_dir():
        raise BenchError(f"the workspace folder is not where expected: {folder}")
    text = python_file(lines)
    (folder / READY_FILE).write_text(text)
    for path in set(TYPING_FILES.values()):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text("")
    first, *_, last = text.splitlines()
    return Setup(f"http://127.0.0.1:{server.port}", workspace_id, tokens, first, last)


# -- pages ------------------------------------------------------------------------------------

# Runs at the start of every document in a context: polls with requestAnimationFrame and
# stamps performance.now() (0 = navigation start) when each part of "ready" first holds.
READY_SCRIPT = """
(() => {
  const want = __WANT__;
  const marks = {};
  window.__bench = marks;
  const stamp = (name, now) => { if (marks[name] === undefined) marks[name] = now; };
  const tick = (frame) => {
    const now = performance.now();
    const content = document.querySelector('[data-testid=editor] .cm-content');
    const tab = document.querySelector('.tab.active');
    const editable = !!content && content.getAttribute('contenteditable') === 'true';
    const synced = !!tab && tab.dataset.path === want.path && !tab.classList.contains('loading');
    let text = !want.first;
    if (editable && want.first) {
      // CodeMirror's view behind its DOM (what EditorView.findFromDOM reads): lines far
      // below the viewport are not in the DOM, so the last line is looked for in its state.
      const tile = content.cmTile || content.cmView;
      const view = tile && ((tile.root && tile.root.view) || tile.view);
      marks.textFrom = view ? 'state' : 'dom';
      const doc = view ? view.state.doc.toString() : content.textContent;
      text = content.textContent.includes(want.first) && doc.includes(want.last);
    }
    if (editable) stamp('editor', now);
    if (synced) stamp('synced', now);
    if (editable && synced && text) {
      stamp('ready', now);
      stamp('frame', frame);
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

# In the typing page: when each keystroke reaches the page (capture phase, before the editor).
SENDER_SCRIPT = """
() => {
  window.__sent = [];
  window.addEventListener('keydown', (event) => {
    if (event.key.length === 1) window.__sent.push(performance.timeOrigin + performance.now());
  }, true);
}
"""

# In both pages: when the first line first holds n characters (remote cursors left out).
WATCH_SCRIPT = """
() => {
  const content = document.querySelector('[data-testid=editor] .cm-content');
  const skip = '.cm-ySelectionCaret, .cm-ySelectionInfo, .cm-widgetBuffer';
  const firstLine = () => {
    const line = content.querySelector('.cm-line');
    if (!line) return '';
    let text = '';
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement.closest(skip)) text += node.data;
    }
    return text.replace(/\\u2060/g, '');
  };
  const seen = [];
  let known = firstLine().length;
  window.__seen = seen;
  window.__firstLine = firstLine;
  new MutationObserver(() => {
    const now = performance.timeOrigin + performance.now();
    const length = firstLine().length;
    while (known < length) seen[++known] = now;
  }).observe(content, { childList: true, subtree: true, characterData: true });
}
"""


class Pages:
    """Every context opened in a round, with each page's console errors."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.errors: list[str] = []
        self.contexts: list[Any] = []

    async def open(self, label: str, want: dict[str, str] | None = None) -> Any:
        context = await self.browser.new_context(viewport=VIEWPORT)
        self.contexts.append(context)
        if want is not None:
            await context.add_init_script(script=READY_SCRIPT.replace("__WANT__", json.dumps(want)))
        page = await context.new_page()

        def on_console(message: Any) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                self.errors.append(f"{label}: console error: {message.text} at {where}")

        def on_page_error(error: Any) -> None:
            self.errors.append(f"{label}: uncaught: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                await context.close()
        self.contexts.clear()


async def open_ready(page: Any, url: str) -> dict[str, float]:
    """Navigate and wait until the init script saw "ready"; its marks plus the driver's view."""
    started = time.perf_counter()
    await page.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
    try:
        await page.wait_for_function(
            "window.__bench && window.__bench.ready !== undefined", timeout=PAGE_TIMEOUT_MS
        )
    except Exception as exc:  # Playwright's TimeoutError: say what was missing
        marks = await page.evaluate("window.__bench || {}")
        raise BenchError(f"the editor was not ready within 30 s at {url} ({marks})") from exc
    driver_ms = (time.perf_counter() - started) * 1000
    marks = await page.evaluate(
        """() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const ready = window.__bench.ready;
          const js = performance.getEntriesByType('resource')
            .filter((r) => r.name.split('?')[0].endsWith('.js') && r.startTime < ready);
          return { ...window.__bench, dcl: nav.domContentLoadedEventEnd,
                   response: nav.responseEnd, js_files: js.length,
                   js_transfer: js.reduce((sum, r) => sum + r.transferSize, 0),
                   js_body: js.reduce((sum, r) => sum + r.decodedBodySize, 0) };
        }"""
    )
    return {**marks, "driver": driver_ms}


def ready_url(setup: Setup, path: str, user: str, stock_port: int | None = None) -> str:
    url = f"{setup.url}/w/{setup.workspace}?open={path}&token={setup.tokens[user]}"
    return url + (f"&yjs=ws://127.0.0.1:{stock_port}" if stock_port else "")


async def measure_ready(plan: Plan, setup: Setup, pages: Pages, usage: Usage) -> dict[str, Any]:
    want = {"path": READY_FILE, "first": setup.first_line, "last": setup.last_line}
    url = ready_url(setup, READY_FILE, "alice")
    first = await pages.open("first open", want)
    first_open = await open_ready(first, url)
    await pages.close()
    cold, warm, others = [], [], []
    for number in range(plan.loads):
        page = await pages.open(f"ready {number + 1}", want)
        usage.start()
        cold.append(await open_ready(page, url))
        warm.append(await open_ready(page, url))
        others.append(usage.others())
        await pages.close()
    return {"first_open": first_open, "cold": cold, "warm": warm,
            "others_cpu": statistics.median(others)}  # fmt: skip


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


class Pair:
    """alice's page (she types) and bob's (he watches) on one file through one server."""

    def __init__(self, mode: str, sender: Any, receiver: Any) -> None:
        self.mode = mode
        self.sender = sender
        self.receiver = receiver
        self.typed = ""
        self.measured: list[int] = []  # indices of the keystrokes that count

    @classmethod
    async def open(cls, setup: Setup, pages: Pages, mode: str, stock_port: int) -> Pair:
        path = TYPING_FILES[mode]
        want = {"path": path, "first": "", "last": ""}
        port = stock_port if mode == "stock" else None
        sender = await pages.open(f"{mode} typing (alice)", want)
        receiver = await pages.open(f"{mode} typing (bob)", want)
        for page, user in ((sender, "alice"), (receiver, "bob")):
            await open_ready(page, ready_url(setup, path, user, port))
        await sender.locator(EDITOR).click()
        await sender.keyboard.press("Control+Home")
        await sender.evaluate(SENDER_SCRIPT)
        for page in (sender, receiver):
            await page.evaluate(WATCH_SCRIPT)
        return cls(mode, sender, receiver)

    async def type(self, count: int, interval_ms: float, measured: bool) -> None:
        """`count` characters on an absolute schedule, then wait until bob has them all."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for number in range(count):
            delay = start + number * interval_ms / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if measured:
                self.measured.append(len(self.typed))
            char = ALPHABET[len(self.typed) % len(ALPHABET)]
            self.typed += char
            await self.sender.keyboard.press(char)
        total = len(self.typed)
        try:
            await self.receiver.wait_for_function(f"window.__seen.length > {total}", timeout=15_000)
        except Exception as exc:
            shown = await self.receiver.evaluate("window.__seen.length - 1")
            raise BenchError(f"{self.mode}: bob saw {shown} of {total} characters in 15 s") from exc

    async def result(self) -> dict[str, Any]:
        sent = await self.sender.evaluate("window.__sent")
        remote = await self.receiver.evaluate("window.__seen")
        local = await self.sender.evaluate("window.__seen")
        for page, who in ((self.sender, "alice"), (self.receiver, "bob")):
            line = await page.evaluate("window.__firstLine()")
            if line != self.typed:
                raise BenchError(
                    f"{self.mode}: {who}'s first line is {line[:60]!r}…, not the typed"
                )
        if len(sent) != len(self.typed):
            raise BenchError(
                f"{self.mode}: alice's page saw {len(sent)} keydowns, not {len(self.typed)}"
            )
        remote_ms = [remote[i + 1] - sent[i] for i in self.measured]
        local_ms = [local[i + 1] - sent[i] for i in self.measured if local[i + 1] is not None]
        return {
            "p50": percentile(remote_ms, 50), "p99": percentile(remote_ms, 99),
            "max": max(remote_ms), "local_p50": percentile(local_ms, 50),
            "clock_offset_ms": await clock_offset(self.sender, self.receiver),
            "samples": remote_ms,
        }  # fmt: skip


async def measure_typing(
    plan: Plan, setup: Setup, pages: Pages, order: list[str], stock_port: int, usage: Usage
) -> dict[str, Any]:
    """All pairs open at once; unmeasured warm-up keystrokes, then bursts that take turns,
    A B C C B A, so that a neighbour loading the machine for a while hits all alike."""
    pairs = {mode: await Pair.open(setup, pages, mode, stock_port) for mode in order}
    for pair in pairs.values():
        await pair.type(plan.warmup_keystrokes, plan.interval_ms, measured=False)
    usage.start()
    half = plan.keystrokes // 2
    for mode, count in [(m, half) for m in order] + [
        (m, plan.keystrokes - half) for m in order[::-1]
    ]:
        await pairs[mode].type(count, plan.interval_ms, measured=True)
    others = usage.others()
    results = {mode: await pair.result() for mode, pair in pairs.items()}
    await pages.close()
    return {**results, "others_cpu": others}


async def clock_offset(a: Any, b: Any) -> dict[str, float]:
    """How far b's `timeOrigin + now()` is from a's (bracketed by two reads of a's)."""
    now = "performance.timeOrigin + performance.now()"
    best: dict[str, float] = {}
    for _ in range(5):
        a1 = await a.evaluate(now)
        b1 = await b.evaluate(now)
        a2 = await a.evaluate(now)
        if not best or (a2 - a1) / 2 < best["within"]:
            best = {"offset": b1 - (a1 + a2) / 2, "within": (a2 - a1) / 2}
    return best


class Usage:
    """How much of the pinned cores other processes took since `start()`, in cores: busy time
    of those cores (/proc/stat) less the CPU time of this process and all its descendants
    (servers, Playwright, chromium), as bench/collab/run.py reports it."""

    def __init__(self, pinning: Any) -> None:
        self.pinning = pinning
        self.start()

    def start(self) -> None:
        self.started = time.monotonic()
        self.cores = collab.core_seconds(self.pinning)
        self.ours = self.tree()

    @staticmethod
    def tree() -> dict[int, float]:
        me = psutil.Process()
        seconds = {}
        for process in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                seconds[process.pid] = times.user + times.system
        return seconds

    def others(self) -> float:
        took = time.monotonic() - self.started
        ours = sum(t - self.ours.get(pid, 0.0) for pid, t in self.tree().items())
        return max(0.0, collab.core_seconds(self.pinning) - self.cores - ours) / took


# -- rounds -----------------------------------------------------------------------------------


@dataclass
class Context:
    plan: Plan
    pinning: Any
    children: Any
    web_dir: Path
    tmp: Path
    errors: list[str] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    chromium_cores: str = "?"


async def run_round(ctx: Context, playwright: Any, number: int) -> None:
    scratch = ctx.tmp / f"round-{number}"
    nexus = start_nexus(scratch / "nexus", ctx.web_dir, ctx.pinning, ctx.children)
    stock = collab.start_server("stock", scratch / "stock", ctx.pinning, ctx.children)
    browser = await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    pages = Pages(browser)
    result: dict[str, Any] = {}
    try:
        setup = prepare(nexus, ctx.plan.lines)
        ctx.chromium_cores = chromium_affinity()
        usage = Usage(ctx.pinning)
        result["ready"] = await measure_ready(ctx.plan, setup, pages, usage)
        order = ctx.plan.modes if number % 2 == 0 else ctx.plan.modes[::-1]
        typing = await measure_typing(ctx.plan, setup, pages, order, stock.port, usage)
        result.update(typing, order=order)
    finally:
        ctx.errors += [f"round {number + 1}: {e}" for e in pages.errors]
        await pages.close()
        await browser.close()
        for server in (nexus, stock):
            ctx.children.stop(server.process)
    ctx.rounds.append(result)
    print_round(number, result)


def chromium_affinity() -> str:
    """The cores our chromium's processes may run on (inherited from this process)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "chromium" in child.name():
                found.add(",".join(str(c) for c in sorted(child.cpu_affinity())))
    return " / ".join(sorted(found)) or "?"


def print_round(number: int, result: dict[str, Any]) -> None:
    ready = result["ready"]
    cold = statistics.median(r["ready"] for r in ready["cold"])
    warm = statistics.median(r["ready"] for r in ready["warm"])
    print(
        f"round {number + 1}: editor ready cold {cold:.0f} ms, warm {warm:.0f} ms, first open "
        f"{ready['first_open']['ready']:.0f} ms (others took {ready['others_cpu']:.0%} of a "
        "core meanwhile)"
    )
    typing = [f"{m} p50 {result[m]['p50']:.1f} p99 {result[m]['p99']:.1f}" for m in result["order"]]
    print(
        f"         keystroke → remote render (ms): {', '.join(typing)} (others took "
        f"{result['others_cpu']:.0%} of a core meanwhile)",
        flush=True,
    )


# -- report -----------------------------------------------------------------------------------


def medians(ctx: Context, js_gz: int) -> dict[str, Any]:
    def over_rounds(pick: Any) -> float:
        return statistics.median(pick(r) for r in ctx.rounds)

    def ready(kind: str, mark: str) -> float:
        return over_rounds(lambda r: statistics.median(x[mark] for x in r["ready"][kind]))

    out: dict[str, Any] = {
        "ready_cold_ms": ready("cold", "ready"),
        "ready_warm_ms": ready("warm", "ready"),
        "ready_cold_driver_ms": ready("cold", "driver"),
        "ready_warm_driver_ms": ready("warm", "driver"),
        "cold_dom_content_loaded_ms": ready("cold", "dcl"),
        "cold_editor_ms": ready("cold", "editor"),
        "cold_synced_ms": ready("cold", "synced"),
        "cold_js_transfer_bytes": ready("cold", "js_transfer"),
        "cold_js_files": ready("cold", "js_files"),
        "first_open_ms": over_rounds(lambda r: r["ready"]["first_open"]["ready"]),
        "initial_js_gzip_kb": js_gz / 1000,
    }
    for mode in ctx.plan.modes:
        for key in ("p50", "p99", "max", "local_p50"):
            out[f"{mode}_{key}_ms"] = over_rounds(lambda r, m=mode, k=key: r[m][k])
    return out


def report(ctx: Context, values: dict[str, Any], js: dict[str, Any]) -> list[dict[str, str]]:
    def ms(value: float) -> str:
        return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"

    def ratio(ours: float, peer: float) -> str:
        return f"{ours / peer:.2f}" if peer else "-"

    v = values
    rows = [
        ("editor ready, cold (ms, page clock)", ms(v["ready_cold_ms"]),
         f"goal <= {GOAL_READY_MS:,.0f}", ratio(v["ready_cold_ms"], GOAL_READY_MS)),
        ("editor ready, warm (ms, page clock)", ms(v["ready_warm_ms"]), "-", "-"),
        ("editor ready, cold / warm (ms, goto → seen by driver)",
         f"{ms(v['ready_cold_driver_ms'])} / {ms(v['ready_warm_driver_ms'])}", "-", "-"),
        ("first open on a fresh server (ms, page clock)", ms(v["first_open_ms"]), "-", "-"),
        ("initial JavaScript, gzipped (kB)", f"{v['initial_js_gzip_kb']:.1f}",
         f"goal <= {GOAL_JS_KB:.0f}", ratio(v["initial_js_gzip_kb"], GOAL_JS_KB)),
        ("keystroke → remote render p50 (ms)", ms(v["nexus_p50_ms"]), ms(v["stock_p50_ms"]),
         ratio(v["nexus_p50_ms"], v["stock_p50_ms"])),
        ("keystroke → remote render p99 (ms)", ms(v["nexus_p99_ms"]), ms(v["stock_p99_ms"]),
         ratio(v["nexus_p99_ms"], v["stock_p99_ms"])),
    ]  # fmt: skip
    if "ignored_p50_ms" in v:
        rows.append((
            f"the same, file in {TYPING_FILES['ignored'].split('/')[0]}/: p50 / p99 (ms)",
            f"{ms(v['ignored_p50_ms'])} / {ms(v['ignored_p99_ms'])}",
            f"{ms(v['stock_p50_ms'])} / {ms(v['stock_p99_ms'])}",
            f"{ratio(v['ignored_p50_ms'], v['stock_p50_ms'])} / "
            f"{ratio(v['ignored_p99_ms'], v['stock_p99_ms'])}",
        ))  # fmt: skip
    header = ("metric", "NEXUS", "peer / goal", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"\nmedians of {ctx.plan.rounds} round(s) ({ctx.plan.loads} cold + warm opens, "
          f"{ctx.plan.keystrokes} keystrokes each); peer = the stock @y/websocket-server; "
          "ratio = NEXUS / peer (or / goal)")  # fmt: skip
    print(
        f"cold open: DOMContentLoaded {ms(v['cold_dom_content_loaded_ms'])} ms, editor "
        f"{ms(v['cold_editor_ms'])} ms, text synced {ms(v['cold_synced_ms'])} ms; "
        f"{v['cold_js_files']:.0f} JS files, {v['cold_js_transfer_bytes'] / 1000:,.0f} kB "
        "fetched before ready"
    )
    raw = sum(info["bytes"] for info in js.values()) / 1000
    print(f"initial JS: {', '.join(js)} ({raw:,.0f} kB uncompressed, served uncompressed)")
    names = {"nexus": "NEXUS", "stock": "stock", "ignored": "NEXUS (ignored folder)"}
    own = [f"{names[m]} {v[f'{m}_local_p50_ms']:.1f}" for m in ctx.plan.modes]
    worst_ms = [f"{names[m]} {v[f'{m}_max_ms']:.1f}" for m in ctx.plan.modes]
    print(f"keystroke → the typist's own render p50 (ms): {', '.join(own)}")
    print(f"slowest keystroke → remote render (ms): {', '.join(worst_ms)}")
    clocks = [r[m]["clock_offset_ms"] for r in ctx.rounds for m in r["order"]]
    worst = max(clocks, key=lambda c: abs(c["offset"]) - c["within"])
    print(f"the two pages' clocks: largest offset seen {worst['offset']:+.2f} ms, read to within "
          f"±{worst['within']:.2f} ms (not corrected for)")  # fmt: skip
    busy = [r["ready"]["others_cpu"] for r in ctx.rounds] + [r["others_cpu"] for r in ctx.rounds]
    print(f"other processes took {min(busy):.0%} to {max(busy):.0%} of a core of the pinned "
          f"cores while measuring; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    verdicts = [
        ("editor ready cold <= 1.5 s", v["ready_cold_ms"] <= GOAL_READY_MS),
        ("initial JS <= 500 kB gzipped", v["initial_js_gzip_kb"] <= GOAL_JS_KB),
        ("keystroke p99 no worse than stock", v["nexus_p99_ms"] <= v["stock_p99_ms"]),
    ]
    for name, ok in verdicts:
        print(f"goal {name}: {'PASS' if ok else 'FAIL'}")
    if ctx.errors:
        print(f"\n{len(ctx.errors)} console error(s) in the pages:")
        for error in dict.fromkeys(ctx.errors):
            print(f"  {error[:400]}")
    else:
        print("no console errors in any page")
    return [dict(zip(header, row, strict=True)) for row in rows]


# -- main -------------------------------------------------------------------------------------


def check_setup() -> None:
    if not CHROMIUM.is_file():
        raise SystemExit(f"Debian's chromium is missing ({CHROMIUM}): apt-get install chromium")
    if not collab.STOCK_SERVER.exists():
        raise SystemExit("node packages missing: cd tests/js && npm ci --no-audit --no-fund")
    if not collab.NEXUS.exists():
        raise SystemExit(f"{collab.NEXUS} is missing: make install")


async def run(ctx: Context) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        for number in range(ctx.plan.rounds):
            await run_round(ctx, playwright, number)


def main(argv: list[str] | None = None) -> int:
    plan, json_path = parse_args(argv)
    check_setup()
    signal.signal(signal.SIGTERM, collab.on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="nexus-web-bench-"))
    children = collab.Children()
    try:
        js_files = snapshot_dist(tmp / "dist")
        js_info = {f.name: {"bytes": f.stat().st_size, "gzip": gzip_size(f)} for f in js_files}
        js_gz = sum(info["gzip"] for info in js_info.values())
        ctx = Context(plan, collab.choose_pinning(), children, tmp / "dist", tmp)
        started = time.monotonic()
        print(f"web benchmark: {ctx.pinning.describe()}; {chromium_version()}; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        try:
            asyncio.run(run(ctx))
        except (BenchError, collab.BenchError) as exc:
            raise SystemExit(f"benchmark failed: {exc}") from None
        except KeyboardInterrupt:
            raise SystemExit("interrupted; servers and browser stopped") from None
        print(
            f"chromium's processes ran on core(s) {ctx.chromium_cores}; took "
            f"{time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}"
        )
        values = medians(ctx, js_gz)
        table = report(ctx, values, js_info)
    finally:
        children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if json_path:
        dump = {
            "plan": plan.__dict__, "machine": machine(), "medians": values, "table": table,
            "initial_js": js_info, "console_errors": ctx.errors, "rounds": ctx.rounds,
        }  # fmt: skip
        json_path.write_text(json.dumps(dump, indent=2, default=str))
    return 0


def chromium_version() -> str:
    try:
        run = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True)
        return run.stdout.strip() or "chromium"
    except OSError:
        return "chromium"


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "chromium": chromium_version()}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
