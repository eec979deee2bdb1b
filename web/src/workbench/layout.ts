/** The workbench's frame: activity bar, side bar, editor, bottom panel; sizes remembered per user. */
import { h } from "../ui/dom";
import type { View } from "./context";

interface Saved {
  side: number;
  bottom: number;
  sideOpen: boolean;
  bottomOpen: boolean;
  sideView: string;
  bottomView: string;
}

export class Layout {
  readonly element: HTMLElement;
  readonly activity = h("nav", { class: "activity-bar", "aria-label": "Views" });
  private readonly side = h("aside", { class: "side-bar" });
  private readonly bottomTabs = h("div", { class: "panel-tabs", role: "tablist", "aria-label": "Panels" });
  private readonly bottomBody = h("div", { class: "panel-body" });
  private readonly bottom = h("section", { class: "bottom-panel" }, this.bottomTabs, this.bottomBody);
  private readonly sideViews = new Map<string, { view: View; button: HTMLElement }>();
  private readonly bottomViews = new Map<string, { view: View; tab: HTMLElement }>();
  private saved: Saved;

  constructor(
    private readonly key: string,
    editor: HTMLElement,
  ) {
    this.saved = { side: 260, bottom: 240, sideOpen: true, bottomOpen: false, sideView: "explorer", bottomView: "terminal", ...JSON.parse(localStorage.getItem(key) ?? "{}") };
    const sideHandle = h("div", { class: "sash vertical", role: "separator", "aria-label": "Resize side bar", tabindex: "0" });
    const bottomHandle = h("div", { class: "sash horizontal", role: "separator", "aria-label": "Resize panel", tabindex: "0" });
    const center = h("div", { class: "center" }, h("div", { class: "editor-slot" }, editor), bottomHandle, this.bottom);
    this.element = h("div", { class: "main" }, this.activity, this.side, sideHandle, center);
    this.drag(sideHandle, "x", (delta, start) => (this.saved.side = Math.max(160, Math.min(640, start + delta))), () => this.saved.side);
    this.drag(bottomHandle, "y", (delta, start) => (this.saved.bottom = Math.max(80, Math.min(window.innerHeight - 200, start - delta))), () => this.saved.bottom);
    const close = h("button", { class: "icon panel-close", "aria-label": "Close panel", title: "Close panel (Ctrl+`)", onclick: () => this.toggleBottom(false) }, "×");
    this.bottomTabs.append(h("span", { class: "spacer" }), close);
    this.apply();
  }

  addSide(view: View): void {
    const button = h(
      "button",
      { class: "activity", title: view.title, "aria-label": view.title, onclick: () => (this.saved.sideView === view.id && this.saved.sideOpen ? this.toggleSide(false) : this.showSide(view.id)) },
      view.icon ?? view.title[0],
    );
    this.activity.append(button);
    view.element.classList.add("side-view");
    this.side.append(view.element);
    this.sideViews.set(view.id, { view, button });
    this.apply();
  }

  addBottom(view: View): void {
    const tab = h("button", { class: "panel-tab", role: "tab", onclick: () => this.showBottom(view.id) }, view.title);
    this.bottomTabs.insertBefore(tab, this.bottomTabs.querySelector(".spacer"));
    view.element.classList.add("panel-view");
    this.bottomBody.append(view.element);
    this.bottomViews.set(view.id, { view, tab });
    this.apply();
  }

  has(id: string): "side" | "bottom" | null {
    return this.sideViews.has(id) ? "side" : this.bottomViews.has(id) ? "bottom" : null;
  }

  showSide(id: string, focus = true): void {
    this.saved.sideView = id;
    this.saved.sideOpen = true;
    this.apply();
    const entry = this.sideViews.get(id);
    entry?.view.shown?.();
    if (focus) entry?.view.focus?.();
  }

  showBottom(id: string, focus = true): void {
    this.saved.bottomView = id;
    this.saved.bottomOpen = true;
    this.apply();
    const entry = this.bottomViews.get(id);
    entry?.view.shown?.();
    if (focus) entry?.view.focus?.();
  }

  toggleSide(open = !this.saved.sideOpen): void {
    this.saved.sideOpen = open;
    this.apply();
  }

  toggleBottom(open = !this.saved.bottomOpen): void {
    if (open) this.showBottom(this.saved.bottomView);
    else {
      this.saved.bottomOpen = false;
      this.apply();
    }
  }

  bottomOpen(): boolean {
    return this.saved.bottomOpen;
  }

  private apply(): void {
    const { side, bottom, sideOpen, bottomOpen, sideView, bottomView } = this.saved;
    this.element.style.setProperty("--side", sideOpen ? `${side}px` : "0px");
    this.element.style.setProperty("--bottom", bottomOpen ? `${bottom}px` : "0px");
    this.element.classList.toggle("side-closed", !sideOpen);
    this.element.classList.toggle("bottom-closed", !bottomOpen);
    for (const [id, { view, button }] of this.sideViews) {
      view.element.hidden = id !== sideView;
      button.classList.toggle("active", sideOpen && id === sideView);
      button.setAttribute("aria-pressed", String(sideOpen && id === sideView));
    }
    for (const [id, { view, tab }] of this.bottomViews) {
      view.element.hidden = id !== bottomView;
      tab.classList.toggle("active", id === bottomView);
      tab.setAttribute("aria-selected", String(id === bottomView));
    }
    localStorage.setItem(this.key, JSON.stringify(this.saved));
  }

  private drag(handle: HTMLElement, axis: "x" | "y", set: (delta: number, start: number) => void, get: () => number): void {
    handle.addEventListener("pointerdown", (down: PointerEvent) => {
      const start = get();
      const origin = axis === "x" ? down.clientX : down.clientY;
      handle.setPointerCapture(down.pointerId);
      const move = (e: PointerEvent) => {
        set((axis === "x" ? e.clientX : e.clientY) - origin, start);
        this.apply();
      };
      const up = () => {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", up);
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
    });
    handle.addEventListener("keydown", (e: KeyboardEvent) => {
      const step = e.key === "ArrowRight" || e.key === "ArrowUp" ? 20 : e.key === "ArrowLeft" || e.key === "ArrowDown" ? -20 : 0;
      if (!step) return;
      set(axis === "x" ? step : -step, get());
      this.apply();
    });
  }
}
