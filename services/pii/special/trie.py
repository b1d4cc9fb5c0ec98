"""Compile many phrases into one trie-shaped regex.

A flat alternation of a few hundred phrases makes Python's backtracking engine
try every phrase at every position (28 ms for 32 KB); sharing prefixes lets a
position fail after one character test (see the timings in the tests' report).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_END = ""  # marks "a phrase may end here"
# An apostrophe in a listed phrase matches the typographic ones too
# ("d'origine" = "d’origine"): phones and word processors type those.
APOSTROPHES = "['\u2019\u02bc]"
_APOSTROPHE_TABLE = str.maketrans({"\u2019": "'", "\u02bc": "'"})


def fold_apostrophes(text: str) -> str:
    return text.translate(_APOSTROPHE_TABLE)

_SPACE = r"\s+"
_ANY_ENDING = r"\w*"


def phrase_atoms(phrase: str) -> list[str]:
    """Regex atoms of a phrase: one per character, "\\s+" between words, "\\w*" for a trailing "*"."""
    atoms: list[str] = []
    for n, word in enumerate(phrase.split(" ")):
        if n:
            atoms.append(_SPACE)
        star = word.endswith("*")
        atoms.extend(
            APOSTROPHES if ch == "'" else re.escape(ch) for ch in (word[:-1] if star else word).lower()
        )
        if star:
            atoms.append(_ANY_ENDING)
    return atoms


def _to_regex(node: dict) -> str:
    terminal = _END in node
    # Literal characters first, then the wildcard, so "chemioterapia" is tried
    # before "chemioterapi\w*" (both end at the same word boundary anyway).
    children = sorted((k for k in node if k != _END), key=lambda k: (k == _ANY_ENDING, k))
    branches = [atom + _to_regex(node[atom]) for atom in children]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if terminal:
        # Greedy "?": the longer phrase ("trade union member") is tried before
        # the shorter one ending here ("trade union").
        return "(?:" + body + ")?"
    return body


def compile_phrases(phrases: Iterable[str]) -> re.Pattern[str] | None:
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for atom in phrase_atoms(phrase):
            node = node.setdefault(atom, {})
        node[_END] = {}
    if not trie:
        return None
    return re.compile(rf"(?<!\w)(?:{_to_regex(trie)})(?!\w)", re.IGNORECASE)
