"""Numbers as people say them ("one hundred and five", "forty two", "300", "100 and 5").

Whisper writes some numbers as digits and some as words, and sometimes both in one
phrase ("100 and 5"), so both are read as one stream of number tokens.
"""

from __future__ import annotations

UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1000}
# Words a small model hears instead of a number word.
SOUNDALIKES = {
    "won": "one",
    "to": "two",
    "too": "two",
    "for": "four",
    "ate": "eight",
    "tree": "three",
}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
}  # fmt: skip


def is_number_word(word: str) -> bool:
    return word.isdigit() or word in UNITS or word in TENS or word in SCALES


def parse_number(words: list[str], *, loose: bool = False) -> int | None:
    """The value of `words` when they are all one number, else None. `loose` also accepts
    words a small model writes for number words ("to" for "two") — only where a number
    is the one thing that can follow."""
    words = [w for w in words if w not in {"a"}] if len(words) > 1 else words
    if loose:
        words = [SOUNDALIKES.get(w, w) for w in words]
    if not words or not all(is_number_word(w) or w == "and" for w in words):
        return None
    if words[0] == "and" or words[-1] == "and":
        return None
    if len(words) > 1 and all(w.isdigit() for w in words):
        # "1 2" is read as digits said one by one, "300 5" makes no sense
        if all(len(w) == 1 for w in words):
            return int("".join(words))
        return None
    total, current = 0, 0
    for word in words:
        if word == "and":
            continue
        if word.isdigit():
            current += int(word)
        elif word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
    return total + current


def ordinal(word: str) -> int | None:
    """ "second" → 2, "two" → 2, "2" → 2."""
    if word in ORDINALS:
        return ORDINALS[word]
    return parse_number([word], loose=True)
