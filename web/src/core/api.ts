/** The REST client: JSON in and out, errors as `ApiError` with the server's code and message. */
import { Emitter } from "./events";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface User {
  id: number;
  username: string;
  is_admin: boolean;
}

export type Role = "viewer" | "editor" | "owner";

export interface WorkspaceInfo {
  id: string;
  name: string;
  path: string;
  created_at?: string;
  role?: Role;
}

export interface RequestOptions {
  body?: unknown;
  raw?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class Api {
  readonly events = new Emitter<{ unauthorized: ApiError; unreachable: Error }>();

  constructor(public token: string) {}

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.fetch(method, path, options);
    if (response.status === 204) return undefined as T;
    const type = response.headers.get("content-type") ?? "";
    return (type.includes("json") ? await response.json() : await response.text()) as T;
  }

  /** The raw response (for file bytes and ETags); errors are thrown as for `request`. */
  async fetch(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, ...options.headers };
    let body: BodyInit | undefined = options.raw;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body, signal: options.signal });
    } catch (error) {
      const unreachable = new ApiError(0, "unreachable", "The server cannot be reached.");
      this.events.emit("unreachable", error as Error);
      throw unreachable;
    }
    if (!response.ok) throw await this.error(response);
    return response;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, { body: body ?? {} });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }

  /** Runs a registered command, as the palette, shortcuts and panels do. */
  async command<T>(workspace: string, command: string, args: Record<string, unknown> = {}): Promise<T> {
    const answer = await this.post<{ result: T }>(`/api/v1/commands/${encodeURIComponent(command)}`, {
      workspace,
      args,
    });
    return answer.result;
  }

  private async error(response: Response): Promise<ApiError> {
    let code = "http_error";
    let message = `${response.status} ${response.statusText}`;
    let details: unknown;
    try {
      const body = await response.json();
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
      details = body.error?.details;
    } catch {
      // not JSON: keep the status line
    }
    const error = new ApiError(response.status, code, message, details);
    if (response.status === 401) this.events.emit("unauthorized", error);
    return error;
  }
}

/** `a/b c.py` → `a/b%20c.py`: each segment encoded, slashes kept. */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
