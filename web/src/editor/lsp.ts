/**
 * Language servers for the editors: one `LSPClient` per language, over the bridge's
 * `/lsp/{workspace}/{language}` WebSocket (one JSON-RPC message per frame). The text the
 * servers see comes from the shared document, so each request carries the Yjs state
 * vector of the editor's copy: the bridge answers once its copy holds those edits.
 */
import { LSPClient, LSPPlugin, Workspace, type Transport, type WorkspaceFile } from "@codemirror/lsp-client";
import type { ChangeSet, Text } from "@codemirror/state";
import type { EditorView } from "@codemirror/view";
import * as Y from "yjs";
import { Emitter } from "../core/events";

export interface ServerStatus {
  ready: boolean;
  servers: { name: string; status: string; detail?: string }[];
}

export interface LspHost {
  /** The editor of a document URI, opening a tab for it when asked to display it. */
  display(uri: string): Promise<EditorView | null>;
  /** The Y.Doc behind a URI, for the state vector sent with requests. */
  ydocOf(uri: string): Y.Doc | null;
  message(text: string, kind: "info" | "error"): void;
}

class File implements WorkspaceFile {
  constructor(
    readonly uri: string,
    readonly languageId: string,
    public version: number,
    public doc: Text,
    readonly view: EditorView,
  ) {}

  getView(): EditorView {
    return this.view;
  }
}

/** Open files are the editors' (one view per file); displaying another file opens its tab. */
class EditorWorkspace extends Workspace {
  files: File[] = [];
  private versions = new Map<string, number>();

  constructor(client: LSPClient, private readonly host: LspHost) {
    super(client);
  }

  syncFiles(): ReturnType<Workspace["syncFiles"]> {
    const updates: { file: WorkspaceFile; prevDoc: Text; changes: ChangeSet }[] = [];
    for (const file of this.files) {
      const plugin = LSPPlugin.get(file.view);
      if (!plugin || plugin.unsyncedChanges.empty) continue;
      updates.push({ changes: plugin.unsyncedChanges, file, prevDoc: file.doc });
      file.doc = file.view.state.doc;
      file.version = this.nextVersion(file.uri);
      plugin.clear();
    }
    return updates;
  }

  openFile(uri: string, languageId: string, view: EditorView): void {
    this.closeFile(uri);
    const file = new File(uri, languageId, this.nextVersion(uri), view.state.doc, view);
    this.files.push(file);
    this.client.didOpen(file);
  }

  closeFile(uri: string): void {
    if (!this.getFile(uri)) return;
    this.files = this.files.filter((f) => f.uri !== uri);
    this.client.didClose(uri);
  }

  async displayFile(uri: string): Promise<EditorView | null> {
    return this.host.display(uri);
  }

  private nextVersion(uri: string): number {
    const version = (this.versions.get(uri) ?? -1) + 1;
    this.versions.set(uri, version);
    return version;
  }
}

/** A reconnecting WebSocket transport that adds `params.nexus.stateVector` to requests. */
class BridgeTransport implements Transport {
  private handlers = new Set<(message: string) => void>();
  private socket: WebSocket | null = null;
  private queue: string[] = [];

  constructor(
    private readonly url: () => string,
    private readonly host: LspHost,
    private readonly onOpen: () => void,
  ) {
    this.open();
  }

  send(message: string): void {
    const data = this.withStateVector(message);
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(data);
    else this.queue.push(data);
  }

  subscribe(handler: (message: string) => void): void {
    this.handlers.add(handler);
  }

  unsubscribe(handler: (message: string) => void): void {
    this.handlers.delete(handler);
  }

  close(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  private open(delay = 500): void {
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onmessage = (event) => {
      const message = superseded(String(event.data));
      for (const handler of this.handlers) handler(message);
    };
    socket.onopen = () => {
      for (const message of this.queue.splice(0)) socket.send(message);
      delay = 500;
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return; // closed on purpose
      if (event.code === 4404 || event.code === 4403 || event.code === 4401) {
        this.socket = null;
        return; // no server for this language, or no access: nothing to retry
      }
      // The bridge restarted or the network dropped: a new connection, then initialize again.
      setTimeout(() => {
        if (this.socket !== socket) return;
        this.open(Math.min(delay * 2, 10000));
        this.onOpen();
      }, delay);
    };
  }

  private withStateVector(message: string): string {
    if (!message.includes('"textDocument"')) return message;
    const parsed = JSON.parse(message);
    const uri = parsed.params?.textDocument?.uri;
    const ydoc = parsed.id !== undefined && uri ? this.host.ydocOf(uri) : null;
    if (!ydoc) return message;
    parsed.params.nexus = { stateVector: toBase64(Y.encodeStateVector(ydoc)) };
    return JSON.stringify(parsed);
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The workspace's language clients, created on first use of each language. */
export class LanguageClients {
  readonly events = new Emitter<{ status: { language: string; status: ServerStatus } }>();
  private clients = new Map<string, LSPClient>();
  private transports = new Map<string, BridgeTransport>();
  readonly rootUri: string;

  constructor(
    private readonly workspace: string,
    workspacePath: string,
    private token: () => string,
    private readonly host: LspHost,
  ) {
    this.rootUri = "file://" + workspacePath.split("/").map(encodeURIComponent).join("/");
  }

  uriOf(path: string): string {
    return this.rootUri + "/" + path.split("/").map(encodeURIComponent).join("/");
  }

  pathOf(uri: string): string | null {
    if (!uri.startsWith(this.rootUri + "/")) return null;
    return uri.slice(this.rootUri.length + 1).split("/").map(decodeURIComponent).join("/");
  }

  client(language: string): LSPClient {
    let client = this.clients.get(language);
    if (client) return client;
    client = new LSPClient({
      rootUri: this.rootUri,
      timeout: 15000,
      workspace: (c) => new EditorWorkspace(c, this.host),
      notificationHandlers: {
        // Diagnostics come over the hub for every open file (see problems.ts).
        "textDocument/publishDiagnostics": () => true,
        "window/logMessage": () => true,
        "window/showMessage": (_c, params: { type: number; message: string }) => {
          this.host.message(params.message, params.type === 1 ? "error" : "info");
          return true;
        },
        "$/nexus/status": (_c, params: ServerStatus) => {
          this.events.emit("status", { language, status: params });
          return true;
        },
      },
    });
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const url = () =>
      `${scheme}//${window.location.host}/lsp/${encodeURIComponent(this.workspace)}/${language}?token=${encodeURIComponent(this.token())}`;
    const connect = (transport: BridgeTransport) => client!.connect(transport);
    const transport: BridgeTransport = new BridgeTransport(url, this.host, () => connect(transport));
    this.transports.set(language, transport);
    this.clients.set(language, client);
    connect(transport);
    return client;
  }

  close(): void {
    for (const transport of this.transports.values()) transport.close();
    for (const client of this.clients.values()) client.disconnect();
  }
}

/** A request whose answer the document's newer text made moot (LSP ContentModified or
 * RequestCancelled) is answered "nothing" rather than failed: the spec says clients drop
 * such answers, and the editor asks again on the next keystroke. */
function superseded(message: string): string {
  if (!message.includes('"error"') || !/-3280[01]/.test(message)) return message;
  const parsed = JSON.parse(message) as { id?: unknown; error?: { code?: number } };
  const code = parsed.error?.code;
  if (parsed.id === undefined || (code !== -32801 && code !== -32800)) return message;
  return JSON.stringify({ jsonrpc: "2.0", id: parsed.id, result: null });
}
