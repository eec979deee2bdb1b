/**
 * File name → CodeMirror language and the LSP language id the bridge knows. Each grammar is
 * loaded on first use, so the page's initial JavaScript stays small.
 */
import { StreamLanguage } from "@codemirror/language";
import type { Extension } from "@codemirror/state";

export interface LanguageInfo {
  /** Shown in the status bar. */
  name: string;
  /** The language id of `/lsp/{workspace}/{language}`, when a server may exist for it. */
  lsp?: string;
  /** The LSP `languageId` of the document. */
  languageId: string;
  load: () => Promise<Extension>;
}

const legacy = async (mode: Promise<{ [name: string]: unknown }>, name: string): Promise<Extension> => {
  const module = await mode;
  return StreamLanguage.define(module[name] as Parameters<typeof StreamLanguage.define>[0]);
};

const byExtension: Record<string, LanguageInfo> = {};
function add(extensions: string[], info: LanguageInfo): void {
  for (const ext of extensions) byExtension[ext] = info;
}

add(["py", "pyi", "pyw"], { name: "Python", lsp: "python", languageId: "python", load: async () => (await import("@codemirror/lang-python")).python() });
add(["js", "mjs", "cjs"], { name: "JavaScript", lsp: "typescript", languageId: "javascript", load: async () => (await import("@codemirror/lang-javascript")).javascript() });
add(["jsx"], { name: "JavaScript JSX", lsp: "typescript", languageId: "javascriptreact", load: async () => (await import("@codemirror/lang-javascript")).javascript({ jsx: true }) });
add(["ts", "mts", "cts"], { name: "TypeScript", lsp: "typescript", languageId: "typescript", load: async () => (await import("@codemirror/lang-javascript")).javascript({ typescript: true }) });
add(["tsx"], { name: "TypeScript JSX", lsp: "typescript", languageId: "typescriptreact", load: async () => (await import("@codemirror/lang-javascript")).javascript({ typescript: true, jsx: true }) });
add(["json", "jsonc"], { name: "JSON", languageId: "json", load: async () => (await import("@codemirror/lang-json")).json() });
add(["md", "markdown"], { name: "Markdown", languageId: "markdown", load: async () => (await import("@codemirror/lang-markdown")).markdown() });
add(["html", "htm"], { name: "HTML", languageId: "html", load: async () => (await import("@codemirror/lang-html")).html() });
add(["css", "scss", "less"], { name: "CSS", languageId: "css", load: async () => (await import("@codemirror/lang-css")).css() });
add(["go"], { name: "Go", lsp: "go", languageId: "go", load: async () => (await import("@codemirror/lang-go")).go() });
add(["rs"], { name: "Rust", lsp: "rust", languageId: "rust", load: async () => (await import("@codemirror/lang-rust")).rust() });
add(["c", "h"], { name: "C", lsp: "c", languageId: "c", load: async () => (await import("@codemirror/lang-cpp")).cpp() });
add(["cc", "cpp", "cxx", "hpp", "hh", "hxx"], { name: "C++", lsp: "cpp", languageId: "cpp", load: async () => (await import("@codemirror/lang-cpp")).cpp() });
add(["yaml", "yml"], { name: "YAML", languageId: "yaml", load: async () => (await import("@codemirror/lang-yaml")).yaml() });
add(["sh", "bash", "zsh"], { name: "Shell", languageId: "shellscript", load: () => legacy(import("@codemirror/legacy-modes/mode/shell"), "shell") });
add(["toml"], { name: "TOML", languageId: "toml", load: () => legacy(import("@codemirror/legacy-modes/mode/toml"), "toml") });

const byName: Record<string, LanguageInfo> = {
  Dockerfile: { name: "Dockerfile", languageId: "dockerfile", load: () => legacy(import("@codemirror/legacy-modes/mode/dockerfile"), "dockerFile") },
  Makefile: { name: "Makefile", languageId: "makefile", load: () => legacy(import("@codemirror/legacy-modes/mode/shell"), "shell") },
};

const plain: LanguageInfo = { name: "Plain text", languageId: "plaintext", load: async () => [] };

export function languageFor(path: string): LanguageInfo {
  const name = path.split("/").pop() ?? path;
  if (byName[name]) return byName[name];
  const dot = name.lastIndexOf(".");
  return (dot > 0 && byExtension[name.slice(dot + 1).toLowerCase()]) || plain;
}
