"""Editing a `Y.Text` from Python strings.

pycrdt indexes text in UTF-8 bytes, Yjs clients in UTF-16 units, Python in code points.
Binary updates carry no indices, so edits from any client land where they were typed;
only the server's own edits (merging a file changed on disk) need converting, which
happens here and nowhere else.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from pycrdt import Text


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def apply_diff(ytext: Text, old: str, new: str) -> bool:
    """Turn `old` into `new` inside `ytext` with the fewest inserts and deletes.

    Untouched runs keep their identity, so collaborators' cursors stay where they were
    and concurrent edits elsewhere merge cleanly. Returns whether anything changed.
    """
    if old == new:
        return False
    # Trim the common prefix and suffix first: most disk changes are local, and this
    # keeps SequenceMatcher's work proportional to the changed region.
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    middle_old, middle_new = old[start:end_old], new[start:end_new]
    matcher = SequenceMatcher(None, middle_old, middle_new, autojunk=False)
    # Apply from the end backwards so earlier offsets stay valid.
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        at = _byte_offset(old, start + i1)
        if i2 > i1:
            length = _byte_offset(old, start + i2) - at
            del ytext[at : at + length]
        if j2 > j1:
            ytext.insert(at, middle_new[j1:j2])
    return True


def merge3(base: str, ours: str, theirs: str) -> str:
    """Three-way merge of text: the changes from `base` to `theirs` (the file on disk),
    replayed onto `ours` (the live document).

    A region only `theirs` changed takes their version; regions only `ours` changed keep
    ours. Where both changed the same region, ours stays and their new text is added
    right after it: nothing typed is lost, and nothing is duplicated.
    """
    if ours == base or ours == theirs:
        return theirs
    if theirs == base:
        return ours
    ours_ops = SequenceMatcher(None, base, ours, autojunk=False).get_opcodes()

    def to_ours(position: int) -> int | None:
        for tag, i1, i2, j1, _ in ours_ops:
            if tag == "equal" and i1 <= position <= i2:
                return j1 + position - i1
        return None

    result = ours
    their_ops = SequenceMatcher(None, base, theirs, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(their_ops):
        if tag == "equal":
            continue
        start, end = to_ours(i1), to_ours(i2)
        added = theirs[j1:j2]
        anchor = end if end is not None else start if start is not None else len(result)
        window = result[max(0, anchor - len(added) - (i2 - i1)) : anchor + len(added) + 1]
        # Both sides made this change (e.g. the file holds our own earlier write): one copy.
        already = bool(added) and added in window
        clean = start is not None and end is not None and result[start:end] == base[i1:i2]
        if clean and not (i1 == i2 and already):
            result = result[:start] + added + result[end:]
        elif not clean and added and not already:
            result = result[:anchor] + added + result[anchor:]
    return result
