/** A small context menu: arrow keys move, Enter runs, Escape closes and gives focus back. */
import { h } from "../ui/dom";

export interface MenuItem {
  label: string;
  keys?: string;
  run: () => unknown;
}

let open: { close: () => void } | null = null;

/** Shows the menu at a point (right-click) or below an element (the ⋯ button, the keyboard). */
export function showMenu(
  items: MenuItem[],
  at: { x: number; y: number } | HTMLElement,
  label: string,
  /** Gives the focus back on close (the default: the element that had it, if still there). */
  restoreFocus?: () => void,
): void {
  open?.close();
  const previous = document.activeElement as HTMLElement | null;
  const buttons = items.map((item) =>
    h(
      "button",
      {
        type: "button",
        role: "menuitem",
        tabindex: "-1",
        onclick: () => {
          close();
          item.run();
        },
      },
      h("span", {}, item.label),
      item.keys ? h("span", { class: "dim" }, item.keys) : null,
    ),
  );
  const menu = h(
    "div",
    { class: "explorer-menu", role: "menu", "aria-label": label, testid: "explorer-menu", onkeydown: keydown },
    buttons,
  );
  document.body.append(menu);
  const rect = at instanceof HTMLElement ? at.getBoundingClientRect() : null;
  const x = rect ? rect.left : (at as { x: number }).x;
  const y = rect ? rect.bottom : (at as { y: number }).y;
  menu.style.left = `${Math.max(0, Math.min(x, window.innerWidth - menu.offsetWidth - 4))}px`;
  menu.style.top = `${Math.max(0, Math.min(y, window.innerHeight - menu.offsetHeight - 4))}px`;
  buttons[0]?.focus();

  const outside = (event: Event) => {
    if (!menu.contains(event.target as Node)) close(false);
  };
  setTimeout(() => {
    document.addEventListener("mousedown", outside, true);
    window.addEventListener("blur", onBlur);
  });
  function onBlur() {
    close(false);
  }
  function close(restore = true) {
    if (!menu.isConnected) return;
    menu.remove();
    document.removeEventListener("mousedown", outside, true);
    window.removeEventListener("blur", onBlur);
    open = null;
    if (!restore) return;
    if (restoreFocus) restoreFocus();
    else if (previous?.isConnected) previous.focus();
  }
  function keydown(event: KeyboardEvent) {
    const index = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const move = (to: number) => buttons[(to + buttons.length) % buttons.length]?.focus();
    if (event.key === "ArrowDown") move(index + 1);
    else if (event.key === "ArrowUp") move(index - 1);
    else if (event.key === "Home") move(0);
    else if (event.key === "End") move(buttons.length - 1);
    else if (event.key === "Escape" || event.key === "Tab") close();
    else return;
    event.preventDefault();
    event.stopPropagation();
  }
  open = { close };
}
