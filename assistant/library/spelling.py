"""A misspelt word the library does not know, read as the library word one typing slip away.

Employees type fast: "questionaire", "recieve", "sanctiosn". BM25 finds nothing for a word
the library never uses, so `nearest` looks for the library term one edit away (a letter
dropped, added, changed or two swapped), the most frequent when several are. Short words are
left alone (one slip turns "cops" into "cope"), a word the library knows is never changed, and
nor is one that only extends a library word ("breaker" is not a misspelt "break").
"""

from __future__ import annotations

from collections.abc import Callable

LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 6  # shorter words have too many real neighbours one slip away


def edits(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in LETTERS if c != b[0]}
            | {a + c + b for a, b in splits for c in LETTERS})


def nearest(word: str, stem: Callable[[str], str], frequency: Callable[[str], int]) -> str | None:
    """The stemmed library term one slip from `word`, the most frequent (`frequency` > 0 for
    a term the library holds), or None: for a short word, or one the library knows."""
    if len(word) < MIN_LENGTH or not word.isalpha() or frequency(stem(word)):
        return None
    # A shorter form the word begins with is another word of its family ("breaker", "break";
    # "banner", "ban"), not the word misspelt.
    found = {t: f for t in {stem(e) for e in edits(word)}
             if not word.startswith(t) and (f := frequency(t))}
    return max(sorted(found), key=found.get) if found else None
