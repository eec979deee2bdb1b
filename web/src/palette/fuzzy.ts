/** Fuzzy matching for the palette: the query's letters in order (a subsequence), scored so
 * that matches at word starts and in contiguous runs come first. Spaces in the query are
 * ignored; case is ignored but an exact-case letter scores a little more. */

export interface Match {
  score: number;
  /** Indexes of the matched characters in the text, ascending. */
  positions: number[];
}

const SEPARATORS = " /\\_-.:()[]";

function isWordStart(text: string, i: number): boolean {
  if (i === 0) return true;
  const before = text[i - 1];
  if (SEPARATORS.includes(before)) return true;
  const char = text[i];
  return before === before.toLowerCase() && char !== char.toLowerCase() && char === char.toUpperCase();
}

export function fuzzyMatch(query: string, text: string): Match | null {
  const q = query.replace(/\s+/g, "");
  if (!q) return { score: 0, positions: [] };
  const lowerQ = q.toLowerCase();
  const lowerT = text.toLowerCase();
  // Quick rejection: not a subsequence at all.
  let k = 0;
  for (let i = 0; i < lowerT.length && k < lowerQ.length; i++) if (lowerT[i] === lowerQ[k]) k++;
  if (k < lowerQ.length) return null;

  const m = q.length;
  const n = text.length;
  const NONE = -Infinity;
  // score[i][j]: the best score with query letter i matched at text position j.
  const score: number[][] = [];
  const from: number[][] = [];
  for (let i = 0; i < m; i++) {
    const row = new Array<number>(n).fill(NONE);
    const back = new Array<number>(n).fill(-1);
    let bestBefore = NONE; // best of score[i-1][0..j-2]
    let bestAt = -1;
    for (let j = i; j < n; j++) {
      if (i > 0 && j >= 2 && score[i - 1][j - 2] > bestBefore) {
        bestBefore = score[i - 1][j - 2];
        bestAt = j - 2;
      }
      if (lowerT[j] !== lowerQ[i]) continue;
      let bonus = 1;
      if (isWordStart(text, j)) bonus += 8;
      if (text[j] === q[i]) bonus += 1;
      if (i === 0) {
        row[j] = bonus - Math.min(j, 10) * 0.1;
        continue;
      }
      const contiguous = score[i - 1][j - 1] === undefined ? NONE : score[i - 1][j - 1] + 8;
      const gapped = bestBefore === NONE ? NONE : bestBefore - 2;
      if (contiguous === NONE && gapped === NONE) continue;
      if (contiguous >= gapped) {
        row[j] = contiguous + bonus;
        back[j] = j - 1;
      } else {
        row[j] = gapped + bonus;
        back[j] = bestAt;
      }
    }
    score.push(row);
    from.push(back);
  }
  let end = -1;
  let best = NONE;
  for (let j = 0; j < n; j++) {
    if (score[m - 1][j] > best) {
      best = score[m - 1][j];
      end = j;
    }
  }
  if (end < 0) return null;
  const positions: number[] = [];
  for (let i = m - 1, j = end; i >= 0; i--) {
    positions.push(j);
    j = from[i][j];
  }
  positions.reverse();
  // Shorter texts win ties.
  return { score: best - n * 0.01, positions };
}

/** Splits `text` into runs for highlighting: [{text, match}]. */
export function highlightRuns(text: string, positions: number[]): { text: string; match: boolean }[] {
  const runs: { text: string; match: boolean }[] = [];
  const set = new Set(positions);
  for (let i = 0; i < text.length; i++) {
    const match = set.has(i);
    const last = runs[runs.length - 1];
    if (last && last.match === match) last.text += text[i];
    else runs.push({ text: text[i], match });
  }
  return runs;
}
