/** Modal prompts and confirmations, keyboard first (Enter accepts, Escape cancels). */
import { h } from "./dom";

function modal(title: string, body: HTMLElement[], onAccept: () => void, onCancel: () => void) {
  const previous = document.activeElement as HTMLElement | null;
  const close = () => {
    overlay.remove();
    restoreFocus(previous);
  };
  const accept = h("button", { class: "primary", type: "submit" }, "OK");
  const cancel = h("button", { type: "button", onclick: () => (close(), onCancel()) }, "Cancel");
  const form = h(
    "form",
    {
      class: "dialog",
      role: "dialog",
      "aria-modal": "true",
      "aria-label": title,
      onsubmit: (event: Event) => {
        event.preventDefault();
        close();
        onAccept();
      },
      onkeydown: (event: KeyboardEvent) => {
        if (event.key === "Escape") {
          event.stopPropagation();
          close();
          onCancel();
        }
      },
    },
    h("h2", {}, title),
    ...body,
    h("div", { class: "buttons" }, cancel, accept),
  );
  const overlay = h("div", { class: "overlay" }, form);
  document.body.append(overlay);
  return { form, accept };
}

/** Focus what had it before a modal opened; when a list re-rendered it meanwhile, its
 * replacement with the same `data-focus-key`, so the keyboard never lands on the page body. */
export function restoreFocus(previous: HTMLElement | null): void {
  if (previous?.isConnected) return previous.focus();
  const key = previous?.dataset.focusKey;
  if (key) document.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

export function prompt(title: string, value = "", label = ""): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h("input", { type: "text", value, "aria-label": label || title });
    modal(title, [label ? h("label", {}, label, input) : input], () => resolve(input.value), () => resolve(null));
    input.focus();
    const dot = value.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : value.length);
  });
}

export function confirm(title: string, message: string): Promise<boolean> {
  return new Promise((resolve) => {
    const { accept } = modal(title, [h("p", {}, message)], () => resolve(true), () => resolve(false));
    accept.focus();
  });
}

/** A form of several labelled fields; resolves with their values, or null when cancelled. */
export function form(
  title: string,
  fields: { name: string; label: string; value?: string; options?: string[] }[],
): Promise<Record<string, string> | null> {
  return new Promise((resolve) => {
    const inputs = fields.map((field) =>
      field.options
        ? h("select", { name: field.name }, ...field.options.map((o) => h("option", { value: o, selected: o === field.value }, o)))
        : h("input", { type: "text", name: field.name, value: field.value ?? "" }),
    );
    const body = fields.map((field, i) => h("label", {}, field.label, inputs[i]));
    modal(
      title,
      body,
      () => resolve(Object.fromEntries(fields.map((f, i) => [f.name, (inputs[i] as HTMLInputElement).value]))),
      () => resolve(null),
    );
    inputs[0]?.focus();
  });
}
