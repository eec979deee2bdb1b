/** One tab of the terminal strip: state marker, name, owner (in their colour), close button. */
import { h, userColor } from "../ui/dom";
import type { TerminalInfo } from "./terminalSession";

export interface TabOptions {
  index: number;
  owner: string;
  active: boolean;
  /** The tab reached with Tab (roving tabindex). */
  tabbable: boolean;
  editable: boolean;
  activate(id: string, focus: boolean): void;
  close(info: TerminalInfo): void;
}

export function terminalTab(info: TerminalInfo, o: TabOptions): HTMLElement {
  const state = info.running ? "running" : `exited${info.exit_code === null ? "" : ` (code ${info.exit_code})`}`;
  const label = `${o.index + 1}: ${info.name}`;
  const onkeydown = (event: KeyboardEvent) => {
    const self = event.currentTarget as HTMLElement;
    const all = [...(self.parentElement?.querySelectorAll<HTMLElement>(".terminal-tab") ?? [])];
    const at = all.indexOf(self);
    const moves: Record<string, number> = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: all.length - 1 };
    if (event.key in moves) {
      const next = all[(moves[event.key] + all.length) % all.length];
      event.preventDefault();
      next.focus();
      if (next.dataset.id) o.activate(next.dataset.id, false);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      o.activate(info.id, true);
    } else if (event.key === "Delete" && o.editable) {
      event.preventDefault();
      o.close(info);
    }
  };
  return h(
    "div",
    {
      class: `terminal-tab${o.active ? " active" : ""}`,
      role: "tab",
      tabindex: o.tabbable ? "0" : "-1",
      "aria-selected": String(o.active),
      "aria-label": `${label}, opened by ${o.owner}, ${state}`,
      title: `${info.command} — opened by ${o.owner} — ${state}${o.editable ? " (Delete closes it)" : ""}`,
      "data-id": info.id,
      onclick: () => o.activate(info.id, true),
      onkeydown,
    },
    h("span", { class: `terminal-state ${info.running ? "running" : "exited"}`, "aria-hidden": "true" }),
    h("span", { class: "terminal-name" }, label),
    h("span", { class: "terminal-owner", style: `color: ${userColor(o.owner).color}` }, o.owner),
    o.editable &&
      h(
        "button",
        {
          class: "icon terminal-close",
          tabindex: "-1",
          "aria-label": `Close terminal ${label}`,
          title: "Close terminal (Delete)",
          onclick: (event: Event) => {
            event.stopPropagation();
            o.close(info);
          },
        },
        "×",
      ),
  );
}
