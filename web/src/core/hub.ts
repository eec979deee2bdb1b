/** The Socket.IO connection to the hub: acknowledged calls, pushed events, connection state. */
import { io, type Socket } from "socket.io-client";
import { ApiError } from "./api";
import { Emitter } from "./events";

export type ConnectionState = "connecting" | "connected" | "offline";

interface Ack<T> {
  ok: boolean;
  result?: T;
  error?: { code: string; message: string; details?: unknown };
}

export class Hub {
  readonly socket: Socket;
  readonly events = new Emitter<{ state: ConnectionState; unauthorized: string }>();
  state: ConnectionState = "connecting";

  constructor(token: string) {
    this.socket = io({
      auth: { token },
      transports: ["websocket"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.socket.on("connect", () => this.setState("connected"));
    this.socket.on("disconnect", () => this.setState("offline"));
    this.socket.on("connect_error", (error: Error & { data?: { code?: string } }) => {
      this.setState("offline");
      if (error.data?.code === "unauthorized") {
        this.socket.disconnect();
        this.events.emit("unauthorized", error.message || "Your session has expired.");
      }
    });
  }

  /** Emits an event and resolves with the acknowledgement's result (or throws its error). */
  async call<T>(event: string, payload: unknown, timeoutMs = 15000): Promise<T> {
    const ack = (await this.socket.timeout(timeoutMs).emitWithAck(event, payload)) as Ack<T>;
    if (!ack.ok) {
      const error = ack.error ?? { code: "error", message: "the server refused" };
      throw new ApiError(0, error.code, error.message, error.details);
    }
    return ack.result as T;
  }

  on<T>(event: string, handler: (payload: T) => void): () => void {
    this.socket.on(event, handler);
    return () => this.socket.off(event, handler);
  }

  close(): void {
    this.socket.disconnect();
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    this.events.emit("state", state);
  }
}
