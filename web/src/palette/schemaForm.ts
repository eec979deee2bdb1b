/** A form built from a command's JSON Schema (pydantic's): one field per property, required
 * ones marked, defaults filled, values converted and checked before the form closes. */
import { h } from "../ui/dom";

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  minimum?: number;
  maximum?: number;
}

interface Field {
  name: string;
  schema: JsonSchema;
  required: boolean;
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
}

const LONG_TEXT = new Set(["content", "message", "text", "prompt", "question", "code"]);

/** The property's own schema: `$ref`s resolved, `anyOf [X, null]` reduced to X. */
function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; depth < 5; depth++) {
    if (current.$ref) {
      const name = current.$ref.split("/").pop() ?? "";
      current = { ...root.$defs?.[name], ...current, $ref: undefined };
    } else if (current.allOf?.length === 1) {
      current = { ...current.allOf[0], ...current, allOf: undefined };
    } else if (current.anyOf) {
      const option = current.anyOf.find((s) => s.type !== "null") ?? {};
      current = { ...option, ...current, anyOf: undefined };
    } else break;
  }
  return current;
}

/** True when the schema asks for arguments at all. */
export function hasArguments(schema: JsonSchema | undefined): boolean {
  return !!schema?.properties && Object.keys(schema.properties).length > 0;
}

/** Shows the form; resolves with the arguments, or null when cancelled. */
export function schemaForm(title: string, root: JsonSchema, initial: Record<string, unknown>): Promise<Record<string, unknown> | null> {
  return new Promise((resolveForm) => {
    const required = new Set(root.required ?? []);
    const fields: Field[] = Object.entries(root.properties ?? {}).map(([name, raw]) => {
      const schema = resolve(raw, root);
      const value = initial[name] ?? schema.default;
      return { name, schema, required: required.has(name), input: inputFor(name, schema, value, required.has(name)) };
    });
    const errors = h("p", { class: "error-text palette-form-errors", role: "alert" });
    const previous = document.activeElement as HTMLElement | null;
    const close = (result: Record<string, unknown> | null) => {
      overlay.remove();
      previous?.focus();
      resolveForm(result);
    };
    const form = h(
      "form",
      {
        class: "dialog palette-form",
        role: "dialog",
        "aria-modal": "true",
        "aria-label": title,
        testid: "command-args",
        novalidate: true,
        onsubmit: (event: Event) => {
          event.preventDefault();
          const problems: string[] = [];
          const args: Record<string, unknown> = {};
          for (const field of fields) {
            const result = read(field);
            if (typeof result === "string") problems.push(result);
            else if (result.set) args[field.name] = result.value;
          }
          errors.textContent = problems.join(" ");
          if (problems.length) return;
          close(args);
        },
        onkeydown: (event: KeyboardEvent) => {
          if (event.key === "Escape") {
            event.preventDefault();
            event.stopPropagation();
            close(null);
          } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            form.requestSubmit();
          }
        },
      },
      h("h2", {}, title),
      ...fields.map((field) => label(field)),
      errors,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => close(null) }, "Cancel"),
        h("button", { class: "primary", type: "submit" }, "Run"),
      ),
    );
    const overlay = h("div", { class: "overlay" }, form);
    document.body.append(overlay);
    const first = fields[0]?.input;
    first?.focus();
    if (first instanceof HTMLInputElement && first.type === "text") first.select();
  });
}

function inputFor(name: string, schema: JsonSchema, value: unknown, required: boolean): Field["input"] {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.enum) {
    const options = schema.enum.map((option) => h("option", { value: String(option), selected: option === value }, String(option)));
    return h("select", { name }, required ? null : h("option", { value: "", selected: value === undefined }, "—"), ...options);
  }
  if (type === "boolean") return h("input", { type: "checkbox", name, checked: value === true });
  if (type === "integer" || type === "number") {
    return h("input", {
      type: "number",
      name,
      step: type === "integer" ? "1" : "any",
      min: schema.minimum,
      max: schema.maximum,
      value: value === undefined || value === null ? "" : String(value),
    });
  }
  if (type === "array") {
    const lines = Array.isArray(value) ? value.map(String).join("\n") : "";
    return textarea(name, 3, lines, "One per line");
  }
  if (type === "object" || (type !== "string" && type !== undefined)) {
    return textarea(name, 4, value === undefined ? "" : JSON.stringify(value, null, 2), "JSON");
  }
  const text = value === undefined || value === null ? "" : String(value);
  if (LONG_TEXT.has(name)) return textarea(name, 4, text, "");
  return h("input", { type: "text", name, value: text, autocomplete: "off", spellcheck: false });
}

function textarea(name: string, rows: number, value: string, placeholder: string): HTMLTextAreaElement {
  const area = h("textarea", { name, rows, placeholder: placeholder || undefined });
  area.value = value;
  return area;
}

function label(field: Field): HTMLElement {
  const name = field.schema.title ?? field.name;
  const check = field.input instanceof HTMLInputElement && field.input.type === "checkbox";
  return h(
    "label",
    { class: check ? "palette-form-check" : "" },
    check ? field.input : null,
    h("span", {}, name, field.required ? h("span", { class: "palette-required", title: "required" }, " *") : null),
    field.schema.description ? h("span", { class: "dim palette-form-help" }, field.schema.description) : null,
    check ? null : field.input,
  );
}

/** The field's value, `{set: false}` when left empty (the server's default applies), or a problem. */
function read(field: Field): { set: boolean; value?: unknown } | string {
  const { input, schema, required } = field;
  const name = schema.title ?? field.name;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (input instanceof HTMLInputElement && input.type === "checkbox") return { set: true, value: input.checked };
  const raw = input.value;
  if (raw.trim() === "") return required ? `${name} is required.` : { set: false };
  if (schema.enum) return { set: true, value: schema.enum.find((option) => String(option) === raw) ?? raw };
  if (type === "integer" || type === "number") {
    const number = Number(raw);
    if (!Number.isFinite(number) || (type === "integer" && !Number.isInteger(number))) {
      return `${name} must be ${type === "integer" ? "a whole number" : "a number"}.`;
    }
    if (schema.minimum !== undefined && number < schema.minimum) return `${name} must be at least ${schema.minimum}.`;
    if (schema.maximum !== undefined && number > schema.maximum) return `${name} must be at most ${schema.maximum}.`;
    return { set: true, value: number };
  }
  if (type === "array") {
    return { set: true, value: raw.split("\n").map((line) => line.trim()).filter(Boolean) };
  }
  if (type === "object" || (type !== "string" && type !== undefined)) {
    try {
      return { set: true, value: JSON.parse(raw) };
    } catch {
      return `${name} must be JSON.`;
    }
  }
  return { set: true, value: raw };
}
