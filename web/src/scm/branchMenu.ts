/** The branch switcher's popup: local branches, then "Create branch…"; arrows, Enter, Escape. */
import { h } from "../ui/dom";
import type { BranchList } from "./git";

export interface BranchMenuChoice {
  /** A branch name, or null for "create a branch". */
  branch: string | null;
}

/** Shows the menu under `anchor`; resolves with the choice, or null when dismissed. */
export function showBranchMenu(anchor: HTMLElement, list: BranchList, canCreate: boolean): Promise<BranchMenuChoice | null> {
  return new Promise((resolve) => {
    const choices: { label: string; detail: string; choice: BranchMenuChoice; current: boolean }[] = list.branches.map((b) => ({
      label: b.name,
      detail: b.commit ? b.commit.slice(0, 7) : "no commits yet",
      choice: { branch: b.name },
      current: b.current,
    }));
    if (canCreate) choices.push({ label: "Create branch…", detail: "", choice: { branch: null }, current: false });
    let selected = Math.max(0, choices.findIndex((c) => c.current));
    const options = choices.map((c, i) =>
      h(
        "li",
        {
          class: `row scm-branch-option${c.choice.branch === null ? " scm-branch-create" : ""}`,
          role: "option",
          id: `scm-branch-option-${i}`,
          "aria-selected": "false",
          onmousedown: (event: MouseEvent) => event.preventDefault(),
          onclick: () => finish(c.choice),
        },
        h("span", { class: "scm-branch-check", "aria-hidden": "true" }, c.current ? "✓" : ""),
        h("span", { class: "scm-branch-name" }, c.label),
        c.detail ? h("span", { class: "dim scm-branch-detail" }, c.detail) : null,
      ),
    );
    const menu = h(
      "ul",
      {
        class: "list scm-branch-menu",
        role: "listbox",
        tabindex: "0",
        "aria-label": "Switch branch",
        testid: "scm-branch-menu",
        onkeydown: (event: KeyboardEvent) => {
          if (event.key === "ArrowDown" || event.key === "ArrowUp") {
            event.preventDefault();
            select(selected + (event.key === "ArrowDown" ? 1 : -1));
          } else if (event.key === "Home" || event.key === "End") {
            event.preventDefault();
            select(event.key === "Home" ? 0 : choices.length - 1);
          } else if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            if (choices[selected]) finish(choices[selected].choice);
          } else if (event.key === "Escape" || event.key === "Tab") {
            if (event.key === "Escape") event.preventDefault();
            event.stopPropagation();
            finish(null);
          }
        },
        onfocusout: (event: FocusEvent) => {
          if (!menu.contains(event.relatedTarget as Node | null)) finish(null);
        },
      },
      ...options,
    );
    let done = false;
    function finish(choice: BranchMenuChoice | null) {
      if (done) return;
      done = true;
      menu.remove();
      if (choice === null) anchor.focus();
      resolve(choice);
    }
    function select(index: number) {
      if (!choices.length) return;
      selected = (index + choices.length) % choices.length;
      options.forEach((option, i) => {
        option.classList.toggle("selected", i === selected);
        option.setAttribute("aria-selected", String(i === selected));
      });
      menu.setAttribute("aria-activedescendant", options[selected].id);
      options[selected].scrollIntoView({ block: "nearest" });
    }
    anchor.insertAdjacentElement("afterend", menu);
    select(selected);
    menu.focus();
  });
}
