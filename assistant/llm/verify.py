"""Checking each sentence of a model's reply against the passages it cites.

A sentence is supported when its best match among the single sentences of a cited passage is
close enough, by embedding cosine (the library's own MiniLM model) and by lexical recall (the
share of the claim's content words, as `assistant.library.bm25.tokenize` sees them, found in
that sentence): `cosine >= 0.80`, or `cosine >= 0.50 and recall >= 0.50`, or
`cosine >= 0.40 and recall >= 0.75`. Measured on 40 hand-written claims over five questions on
the starter library: verbatim sentences scored cosine 0.91-1.00; faithful paraphrases cosine
0.47-0.95 with recall 0.50-1.00; fabrications that borrow the topic's words ("The EU banned all
exports of routers in 2019 [1].") cosine 0.14-0.60 with recall 0.00-0.43. None was
misclassified, but the margin is narrow (closest pair: a paraphrase at 0.56/0.50, a fabrication
at 0.60/0.43). Matching against pairs of adjacent sentences was tried and rejected: it let two
fabrications through. Known blind spot: a flipped negation ("is a valid demand" for "is not yet
a valid demand") keeps both scores high, since "not" is a stop word.

A passage's sentences that address an AI (assistant.library.injection) never count as support.
A sentence the cited passage does not support, but another retrieved passage supports almost
word for word (cosine >= 0.80), is re-attributed to that passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer import Passage
from assistant.library.bm25 import tokenize
from assistant.library.injection import is_instruction
from assistant.library.sentences import sentence_spans

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
SPACED_MARKER = re.compile(r"\s*" + MARKER.pattern)
LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|#{1,6})\s+")
NUMBER_ONLY = re.compile(r"^\s*\d{1,2}[.)]\s*$")
NOT_COVERED = re.compile(r"\b(sources?|library|guidance|documents?)\b.{0,60}"
                         r"\b(do|does|did|can)\s*(not|n't)\b|\bcannot\s+(answer|find)\b", re.I)

COSINE_ALONE = 0.80  # close paraphrase or verbatim
COSINE_WITH_WORDS = (0.50, 0.50)  # (cosine, recall): reworded but the same facts
WORDS_WITH_COSINE = (0.40, 0.75)  # (cosine, recall): the source's words, reordered


@dataclass(frozen=True)
class Claim:
    """One sentence of the reply, where it sits, and the sources it cites."""

    start: int  # span in the reply, trailing markers included
    end: int
    written: str  # as the model wrote it (list mark removed)
    plain: str  # without markers or Markdown, for matching
    sources: tuple[int, ...]  # valid source numbers cited
    checked: bool  # False for headings, lead-ins, questions and "the sources do not say"
    out_of_range: tuple[int, ...] = ()  # cited numbers with no such source

    @property
    def not_covered(self) -> bool:
        return not self.checked and bool(NOT_COVERED.search(self.plain))


@dataclass(frozen=True)
class Match:
    """The best sentence of one passage for one claim."""

    source: int
    start: int  # offsets within the passage text
    end: int
    cosine: float
    recall: float

    @property
    def supports(self) -> bool:
        return is_supported(self.cosine, self.recall)

    @property
    def rank(self) -> tuple[bool, float]:
        return self.supports, self.cosine + 0.5 * self.recall


def is_supported(cosine: float, recall: float) -> bool:
    return (cosine >= COSINE_ALONE
            or (cosine >= COSINE_WITH_WORDS[0] and recall >= COSINE_WITH_WORDS[1])
            or (cosine >= WORDS_WITH_COSINE[0] and recall >= WORDS_WITH_COSINE[1]))


def read_claims(reply: str, n_sources: int) -> list[Claim]:
    """The reply's sentences and their [n] markers; a lone marker joins the sentence before."""
    spans: list[tuple[int, int]] = []
    pending = None  # a list number read as a sentence of its own ("1."): it opens the next one
    for a, b in sentence_spans(reply):
        if NUMBER_ONLY.match(reply[a:b]):
            pending = a if pending is None else pending
        elif spans and not MARKER.sub("", reply[a:b]).strip(" .;,"):
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a if pending is None else pending, b))
            pending = None
    claims = []
    for a, b in spans:
        raw = reply[a:b]
        written = LIST_MARK.sub("", raw).strip()
        numbers = [int(x) for m in MARKER.finditer(raw) for x in re.split(r"[,;]", m.group(1))]
        valid = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_sources))
        wrong = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_sources))
        plain = " ".join(SPACED_MARKER.sub("", written).replace("**", "").split())
        heading = raw.lstrip().startswith("#") or (written.startswith("**")
                                                   and written.rstrip(":").endswith("**"))
        lead_in = plain.endswith(":") and not numbers
        asks = plain.rstrip(" *_").endswith("?")  # a question states nothing to check
        not_covered = not numbers and bool(NOT_COVERED.search(plain))
        checked = (bool(numbers) or not (heading or lead_in or not_covered)) and not asks
        claims.append(Claim(a, b, written, plain, valid, checked, wrong))
    return claims


def passage_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a passage that may support a claim: list marks excluded, and no
    sentence that addresses an AI."""
    out = []
    for a, b in sentence_spans(text):
        m = LIST_MARK.match(text[a:b])
        if m:
            a += m.end()
        if a < b and not is_instruction(text[a:b]) and not NUMBER_ONLY.match(text[a:b]):
            out.append((a, b))
    return out


class Matcher:
    """Scores claims against every sentence of every passage, once."""

    def __init__(self, embedder, claims: list[Claim], passages: list[Passage]):
        self.claims = claims
        self.passages = passages
        self.todo = [i for i, c in enumerate(claims) if c.checked]
        self.spans = {n: passage_sentences(p.text) for n, p in enumerate(passages, 1)}
        texts = [passages[n - 1].text[a:b] for n in self.spans for a, b in self.spans[n]]
        vecs = embedder.encode([claims[i].plain for i in self.todo] + texts) \
            if self.todo else []
        self.claim_vecs = {i: vecs[row] for row, i in enumerate(self.todo)}
        self.sent_vecs, pos = {}, len(self.todo)
        for n in self.spans:
            self.sent_vecs[n] = vecs[pos:pos + len(self.spans[n])]
            pos += len(self.spans[n])
        self.words = {n: [set(tokenize(passages[n - 1].text[a:b])) for a, b in self.spans[n]]
                      for n in self.spans}

    def best(self, i: int, n: int) -> Match | None:
        """The best sentence of passage `n` for claim `i`."""
        words = set(tokenize(self.claims[i].plain))
        best = None
        for j, (a, b) in enumerate(self.spans[n]):
            cos = float(self.claim_vecs[i] @ self.sent_vecs[n][j])
            recall = len(words & self.words[n][j]) / max(len(words), 1)
            m = Match(n, a, b, cos, recall)
            if best is None or m.rank > best.rank:
                best = m
        return best

    def cited(self, i: int) -> list[Match]:
        return [m for n in self.claims[i].sources if (m := self.best(i, n))]

    def elsewhere(self, i: int) -> Match | None:
        """A passage the claim did not cite that states it almost word for word."""
        found = [m for n in self.spans if n not in self.claims[i].sources
                 and (m := self.best(i, n)) and m.cosine >= COSINE_ALONE]
        return max(found, key=lambda m: m.rank, default=None)
