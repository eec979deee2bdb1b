/** Toasts: short messages in the corner; errors stay until dismissed. */
import { h } from "./dom";

let host: HTMLElement | null = null;

export function notify(message: string, kind: "info" | "error" = "info"): void {
  if (!host) {
    host = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(host);
  }
  const close = h("button", { class: "icon", "aria-label": "Dismiss", onclick: () => toast.remove() }, "×");
  const toast = h("div", { class: `toast ${kind}`, testid: `toast-${kind}` }, h("span", {}, message), close);
  host.append(toast);
  if (kind === "info") setTimeout(() => toast.remove(), 4000);
}

/** Runs an action and shows its failure as an error toast (the message the server gave). */
export async function attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    notify((error as Error).message, "error");
    return undefined;
  }
}
