/** File name → CodeMirror language and the LSP language id the bridge knows. */
import { cpp } from "@codemirror/lang-cpp";
import { css } from "@codemirror/lang-css";
import { go } from "@codemirror/lang-go";
import { html } from "@codemirror/lang-html";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { markdown } from "@codemirror/lang-markdown";
import { python } from "@codemirror/lang-python";
import { rust } from "@codemirror/lang-rust";
import { yaml } from "@codemirror/lang-yaml";
import { StreamLanguage } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { toml } from "@codemirror/legacy-modes/mode/toml";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import type { Extension } from "@codemirror/state";

export interface LanguageInfo {
  /** Shown in the status bar. */
  name: string;
  /** The language id of `/lsp/{workspace}/{language}`, when a server may exist for it. */
  lsp?: string;
  /** The LSP `languageId` of the document. */
  languageId: string;
  extension: () => Extension;
}

const byExtension: Record<string, LanguageInfo> = {};
function add(extensions: string[], info: LanguageInfo): void {
  for (const ext of extensions) byExtension[ext] = info;
}

add(["py", "pyi", "pyw"], { name: "Python", lsp: "python", languageId: "python", extension: python });
add(["js", "mjs", "cjs"], { name: "JavaScript", lsp: "typescript", languageId: "javascript", extension: () => javascript() });
add(["jsx"], { name: "JavaScript JSX", lsp: "typescript", languageId: "javascriptreact", extension: () => javascript({ jsx: true }) });
add(["ts", "mts", "cts"], { name: "TypeScript", lsp: "typescript", languageId: "typescript", extension: () => javascript({ typescript: true }) });
add(["tsx"], { name: "TypeScript JSX", lsp: "typescript", languageId: "typescriptreact", extension: () => javascript({ typescript: true, jsx: true }) });
add(["json", "jsonc"], { name: "JSON", languageId: "json", extension: json });
add(["md", "markdown"], { name: "Markdown", languageId: "markdown", extension: () => markdown() });
add(["html", "htm"], { name: "HTML", languageId: "html", extension: () => html() });
add(["css", "scss", "less"], { name: "CSS", languageId: "css", extension: css });
add(["go"], { name: "Go", lsp: "go", languageId: "go", extension: go });
add(["rs"], { name: "Rust", lsp: "rust", languageId: "rust", extension: rust });
add(["c", "h"], { name: "C", lsp: "c", languageId: "c", extension: cpp });
add(["cc", "cpp", "cxx", "hpp", "hh", "hxx"], { name: "C++", lsp: "cpp", languageId: "cpp", extension: cpp });
add(["yaml", "yml"], { name: "YAML", languageId: "yaml", extension: yaml });
add(["sh", "bash", "zsh"], { name: "Shell", languageId: "shellscript", extension: () => StreamLanguage.define(shell) });
add(["toml"], { name: "TOML", languageId: "toml", extension: () => StreamLanguage.define(toml) });

const byName: Record<string, LanguageInfo> = {
  Dockerfile: { name: "Dockerfile", languageId: "dockerfile", extension: () => StreamLanguage.define(dockerFile) },
  Makefile: { name: "Makefile", languageId: "makefile", extension: () => StreamLanguage.define(shell) },
};

const plain: LanguageInfo = { name: "Plain text", languageId: "plaintext", extension: () => [] };

export function languageFor(path: string): LanguageInfo {
  const name = path.split("/").pop() ?? path;
  if (byName[name]) return byName[name];
  const dot = name.lastIndexOf(".");
  return (dot > 0 && byExtension[name.slice(dot + 1).toLowerCase()]) || plain;
}
