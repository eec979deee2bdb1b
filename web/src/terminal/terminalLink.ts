/** The terminals' side of the hub: calls that wait out a workspace (re)join, ordered input, acks. */
import { ApiError } from "../core/api";
import type { Hub } from "../core/hub";
import { notify } from "../ui/notify";

const INPUT_CHUNK = 16 * 1024; // characters per terminal:input message (the server takes 64 KiB)
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class TerminalLink {
  private readonly inputs = new Map<string, { pending: string; busy: boolean }>();
  private lastError = { message: "", at: 0 };

  constructor(private readonly hub: Hub) {}

  /** A hub call; when it races the shell's (re)join of the workspace, it waits and tries again. */
  async call<T>(event: string, payload: unknown): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.hub.call<T>(event, payload);
      } catch (error) {
        const joining = error instanceof ApiError && /join the workspace first/.test(error.message);
        if (!joining || tries >= 10) throw error;
        await delay(200 * (tries + 1));
      }
    }
  }

  /** Keystrokes: one message in flight per terminal, so they arrive in order and a burst goes together. */
  input(id: string, data: string): void {
    const queue = this.inputs.get(id) ?? { pending: "", busy: false };
    this.inputs.set(id, queue);
    queue.pending += data;
    if (queue.busy) return;
    queue.busy = true;
    void (async () => {
      while (queue.pending) {
        const chunk = queue.pending.slice(0, INPUT_CHUNK);
        queue.pending = queue.pending.slice(chunk.length);
        try {
          await this.hub.call("terminal:input", { id, data: chunk });
        } catch (error) {
          queue.pending = "";
          this.report(error);
        }
      }
      queue.busy = false;
    })();
  }

  /** Flow control: output handled (no acknowledgement wanted; a new connection starts at zero). */
  ack(id: string, bytes: number): void {
    if (this.hub.socket.connected) this.hub.socket.emit("terminal:ack", { id, bytes });
  }

  forget(id: string): void {
    this.inputs.delete(id);
  }

  /** An error toast, once for a message repeated by every keystroke. */
  report = (error: unknown): void => {
    const message = (error as Error).message;
    if (message === this.lastError.message && Date.now() - this.lastError.at < 5000) return;
    this.lastError = { message, at: Date.now() };
    notify(message, "error");
  };
}
