/**
 * One shared document: a Y.Doc kept in step with the server's room for (workspace, path)
 * by the stock y-websocket provider over `/yjs`. Typing while offline stays in the Y.Doc
 * and is sent once on reconnect; Yjs never applies an update twice.
 */
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { encodePath } from "../core/api";
import { Emitter } from "../core/events";

export type DocStatus = "connecting" | "connected" | "offline" | "closed";

/** Close codes after which reconnecting cannot help (see README "Collaboration"). */
const FINAL = new Map<number, string>([
  [4400, "This file cannot be shared: it is binary, a folder or too large."],
  [4403, "You may not open this file."],
  [4404, "The workspace does not exist."],
  [4410, "The file was deleted or moved."],
]);

export interface DocClosed {
  code: number;
  reason: string;
}

export class SharedDoc {
  readonly ydoc = new Y.Doc();
  readonly text = this.ydoc.getText("source");
  readonly provider: WebsocketProvider;
  readonly events = new Emitter<{ status: DocStatus; synced: true; closed: DocClosed; expired: true; stale: true }>();
  status: DocStatus = "connecting";
  synced = false;
  closed: DocClosed | null = null;
  private readonly whenSynced: Promise<void>;

  constructor(
    readonly workspace: string,
    readonly path: string,
    token: string,
    user: { name: string; color: string; colorLight: string },
  ) {
    this.provider = new WebsocketProvider(serverUrl(workspace), roomName(workspace, path), this.ydoc, {
      params: { token },
      disableBc: true,
      maxBackoffTime: 5000,
    });
    this.provider.awareness.setLocalStateField("user", user);
    this.whenSynced = new Promise((resolve) => {
      this.provider.on("sync", (synced: boolean) => {
        if (!synced || this.synced) return;
        this.synced = true;
        this.events.emit("synced", true);
        resolve();
      });
    });
    this.provider.on("status", ({ status }: { status: string }) => {
      if (this.closed) return;
      this.setStatus(status === "connected" ? "connected" : status === "connecting" ? "connecting" : "offline");
    });
    this.provider.on("connection-close", (event: CloseEvent | null) => this.onClose(event));
  }

  sync(): Promise<void> {
    return this.whenSynced;
  }

  /** A new token after signing in again: the next reconnect uses it. */
  setToken(token: string): void {
    this.provider.params = { ...this.provider.params, token };
    if (!this.closed && !this.provider.shouldConnect) this.provider.connect();
  }

  destroy(): void {
    this.provider.destroy();
    this.ydoc.destroy();
  }

  private onClose(event: CloseEvent | null): void {
    const code = event?.code ?? 0;
    if (code === 4401) {
      this.provider.disconnect();
      this.events.emit("expired", true);
    } else if (code === 4409) {
      // The server rebuilt the document from its file: this copy's history is stale.
      this.provider.disconnect();
      this.events.emit("stale", true);
    } else if (FINAL.has(code)) {
      this.provider.disconnect();
      this.closed = { code, reason: event?.reason || FINAL.get(code)! };
      this.setStatus("closed");
      this.events.emit("closed", this.closed);
    }
  }

  private setStatus(status: DocStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.events.emit("status", status);
  }
}

/**
 * The y-websocket server: NEXUS's `/yjs/{workspace}`, or, for the benchmark only, the
 * stock server named by `?yjs=ws://host:port` (rooms then carry the workspace id too).
 */
function serverUrl(workspace: string): string {
  const override = new URLSearchParams(window.location.search).get("yjs");
  if (override) return override;
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/yjs/${encodeURIComponent(workspace)}`;
}

function roomName(workspace: string, path: string): string {
  const override = new URLSearchParams(window.location.search).get("yjs");
  return override ? `${encodeURIComponent(workspace)}/${encodePath(path)}` : encodePath(path);
}
