/** The extensions every editor gets: VS Code's habits on CodeMirror, shared text through Yjs. */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, indentWithTab, toggleComment } from "@codemirror/commands";
import {
  bracketMatching,
  foldGutter,
  foldKeymap,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { lintGutter, lintKeymap } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import {
  crosshairCursor,
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from "@codemirror/view";
import { classHighlighter } from "@lezer/highlight";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import * as Y from "yjs";
import type { SharedDoc } from "./document";

export interface EditorParts {
  view: EditorView;
  language: Compartment;
  lsp: Compartment;
  readOnly: Compartment;
  undoManager: Y.UndoManager;
}

export function createEditor(doc: SharedDoc, extra: Extension, readOnly: boolean): EditorParts {
  const language = new Compartment();
  const lsp = new Compartment();
  const readOnlyPart = new Compartment();
  // Per-user undo: the manager tracks only this editor's own transactions (collaborators'
  // updates arrive with the provider as origin), as in VS Code Live Share.
  const undoManager = new Y.UndoManager(doc.text);
  const view = new EditorView({
    state: EditorState.create({
      doc: doc.text.toString(),
      extensions: [
        // y-codemirror's undo keys go first so Ctrl+Z never reaches a local history.
        keymap.of(yUndoManagerKeymap),
        yCollab(doc.text, doc.provider.awareness, { undoManager }),
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        foldGutter(),
        lintGutter(),
        drawSelection(),
        dropCursor(),
        EditorState.allowMultipleSelections.of(true),
        indentOnInput(),
        syntaxHighlighting(classHighlighter),
        bracketMatching(),
        closeBrackets(),
        autocompletion({ activateOnTypingDelay: 50 }),
        rectangularSelection(),
        crosshairCursor(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        keymap.of([
          { key: "Mod-/", run: toggleComment },
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...searchKeymap,
          ...foldKeymap,
          ...completionKeymap,
          ...lintKeymap,
          indentWithTab,
        ]),
        language.of([]),
        lsp.of([]),
        readOnlyPart.of(EditorState.readOnly.of(readOnly)),
        extra,
      ],
    }),
  });
  return { view, language, lsp, readOnly: readOnlyPart, undoManager };
}
