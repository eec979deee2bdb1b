/** One shared terminal on screen: an xterm.js instance (DOM renderer) fed by `terminal:output`. */
import { Terminal, type ITheme } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { h } from "../ui/dom";

export interface TerminalInfo {
  id: string;
  name: string;
  workspace: string;
  owner: number;
  command: string;
  cols: number;
  rows: number;
  running: boolean;
  exit_code: number | null;
  clients: number;
  created_at: number;
}

interface Chunk {
  data: string;
  bytes: number;
}

export interface SessionHooks {
  /** Keystrokes (editors only). */
  input(id: string, data: string): void;
  /** Flow control: `bytes` of output were written to the screen. */
  ack(id: string, bytes: number): void;
  readOnly(): boolean;
}

/** Keys the workbench keeps even while a terminal has focus (VS Code's "commands to skip shell"). */
function workbenchKey(event: KeyboardEvent): boolean {
  const mod = event.ctrlKey || event.metaKey;
  if (event.key === "F1") return true;
  if (mod && (event.key === "`" || event.code === "Backquote")) return true;
  // Ctrl+Shift+letter: palette, search, explorer, copy/paste… (Ctrl+_ and the like stay the shell's).
  if (mod && event.shiftKey && !event.altKey && /^Key[A-Z]$/.test(event.code)) return true;
  return mod && !event.shiftKey && !event.altKey && event.key.toLowerCase() === "p";
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function terminalTheme(): ITheme {
  return {
    background: cssVar("--bg", "#1e1f22"),
    foreground: cssVar("--fg", "#dfe1e5"),
    cursor: cssVar("--fg", "#dfe1e5"),
    cursorAccent: cssVar("--bg", "#1e1f22"),
    selectionBackground: cssVar("--selected", "rgba(108, 140, 255, 0.25)"),
  };
}

export class TerminalSession {
  readonly host: HTMLElement;
  readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private opened = false;
  /** While attaching, output waits here: it follows the scrollback the attach returns. */
  private held: Chunk[] | null = null;
  info: TerminalInfo;

  constructor(
    info: TerminalInfo,
    private readonly hooks: SessionHooks,
  ) {
    this.info = info;
    this.host = h("div", { class: "terminal-host", hidden: true });
    this.term = new Terminal({
      cols: info.cols,
      rows: info.rows,
      cursorBlink: true,
      fontFamily: cssVar("--font-mono", "monospace"),
      fontSize: 13,
      scrollback: 5000,
      theme: terminalTheme(),
      disableStdin: hooks.readOnly(),
    });
    this.term.loadAddon(this.fitAddon);
    this.term.attachCustomKeyEventHandler((event) => {
      if (event.type === "keydown" && (event.ctrlKey || event.metaKey) && event.shiftKey && event.key.toLowerCase() === "c") {
        const selection = this.term.getSelection();
        if (selection) void navigator.clipboard?.writeText(selection).catch(() => undefined);
        event.preventDefault();
        return false;
      }
      return !workbenchKey(event);
    });
    this.term.onData((data) => {
      if (!this.hooks.readOnly() && this.info.running) this.hooks.input(this.info.id, data);
    });
  }

  get id(): string {
    return this.info.id;
  }

  /** Opens xterm in its host once the host is laid out (xterm measures its cells on open). */
  ensureOpen(): boolean {
    if (this.opened) return true;
    if (!this.host.isConnected || this.host.hidden || this.host.getClientRects().length === 0) return false;
    this.term.open(this.host);
    this.opened = true;
    return true;
  }

  /** Fits the screen to its host; returns the new size when it changed. */
  fit(): { cols: number; rows: number } | null {
    if (!this.ensureOpen()) return null;
    const size = this.fitAddon.proposeDimensions();
    if (!size || !Number.isFinite(size.cols) || !Number.isFinite(size.rows) || size.cols < 2 || size.rows < 1) return null;
    if (size.cols === this.term.cols && size.rows === this.term.rows) return null;
    this.term.resize(size.cols, size.rows);
    return { cols: size.cols, rows: size.rows };
  }

  setReadOnly(readOnly: boolean): void {
    this.term.options.disableStdin = readOnly;
  }

  setTheme(): void {
    this.term.options.theme = terminalTheme();
  }

  /** Output from the server: written (then acknowledged), or held while an attach is answered. */
  output(data: string, bytes: number): void {
    if (this.held) this.held.push({ data, bytes });
    else this.write(data, bytes);
  }

  write(data: string, bytes = 0): void {
    this.term.write(data, bytes > 0 ? () => this.hooks.ack(this.info.id, bytes) : undefined);
  }

  /** Starts holding output until `attached` (or `release` on failure). */
  hold(): void {
    this.held ??= [];
  }

  /** The attach answered: its scrollback replaces the screen, then the held output follows. */
  attached(scrollback: string, info: TerminalInfo): void {
    this.term.reset();
    if (scrollback) this.term.write(scrollback);
    this.info = info;
    if (!info.running) this.exitNote(info.exit_code);
    this.release();
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const chunk of held) this.write(chunk.data, chunk.bytes);
  }

  exited(code: number | null): void {
    if (!this.info.running) return;
    this.info = { ...this.info, running: false, exit_code: code };
    this.exitNote(code);
  }

  private exitNote(code: number | null): void {
    // Dimmed, and the cursor hidden: nothing more will be typed here.
    this.term.write(`\r\n\x1b[2m[process exited${code === null ? "" : ` with code ${code}`}]\x1b[0m\r\n\x1b[?25l`);
  }

  focus(): void {
    if (this.ensureOpen()) this.term.focus();
  }

  dispose(): void {
    this.term.dispose();
    this.host.remove();
  }
}
