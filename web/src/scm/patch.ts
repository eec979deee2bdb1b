/** Undoing a unified diff: the old text from the new text and the patch between them.
 *
 * The server gives a file's patch but not the index or HEAD version, so the diff view
 * rebuilds the old side: context and `+` lines are checked against the new text (a patch
 * that does not fit throws), `-` lines are put back. `\ No newline at end of file` applies
 * to the line before it. */

interface PatchLine {
  op: " " | "-" | "+";
  text: string;
  eol: boolean;
}

/** Splits text into lines, each keeping its "\n" (the last may have none). */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

export class PatchMismatch extends Error {}

export function revertPatch(newText: string, patch: string): string {
  const current = splitLines(newText);
  const old: string[] = [];
  const lines = patch.split("\n");
  let cursor = 0;
  let i = 0;
  while (i < lines.length && !lines[i].startsWith("@@")) i++;
  while (i < lines.length) {
    const header = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(lines[i]);
    i++;
    if (!header) continue;
    const start = Number(header[1]);
    const count = header[2] === undefined ? 1 : Number(header[2]);
    const before = count === 0 ? start : start - 1;
    if (before < cursor || before > current.length) throw new PatchMismatch("the patch does not fit the file");
    old.push(...current.slice(cursor, before));
    cursor = before;
    const body: PatchLine[] = [];
    for (; i < lines.length && !lines[i].startsWith("@@"); i++) {
      const line = lines[i];
      if (line.startsWith("\\")) {
        if (body.length) body[body.length - 1].eol = false;
      } else if (line[0] === " " || line[0] === "-" || line[0] === "+") {
        body.push({ op: line[0], text: line.slice(1), eol: true });
      }
    }
    for (const line of body) {
      const full = line.text + (line.eol ? "\n" : "");
      if (line.op === "-") {
        old.push(full);
        continue;
      }
      if (current[cursor] !== full) throw new PatchMismatch("the patch does not fit the file");
      if (line.op === " ") old.push(full);
      cursor++;
    }
  }
  old.push(...current.slice(cursor));
  return old.join("");
}
