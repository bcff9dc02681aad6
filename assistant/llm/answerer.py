"""LLM mode: the model answers from fenced sources; verification decides whether it is shown.

The reply is shown only when it is a real answer to the question, mostly supported:

- it does not repeat the prompt (rules, fences, the question line);
- at least `HRDD_LLM_MIN_SUPPORTED` of its checked sentences are supported by a source
  (assistant.llm.verify); a sentence citing the wrong source but stated word for word by another
  is re-attributed, and the notice says so;
- its supported sentences carry reasons, not only a verdict ("APPROVED: proceed [1]");
- at least one supported sentence is about the question (cosine to the question).

Otherwise `LLMFailure` says why, and the assistant shows the extractive answer with that notice.
Markers of sources that do not exist are removed; sentences that fail the check are marked
inline (or dropped, with `HRDD_LLM_DROP_UNSUPPORTED`), and only supported sentences' sources are
listed as citations.

Calibration (2026-12-01, starter library; the extractive answers' first four lines to 58
tune-split golden questions standing in for faithful answers): their best cosine to the
question had a 5th percentile of 0.23 and a median of 0.44, 2 of 58 below 0.20; lines of
*another* golden question's answer scored a median of 0.22 and up to 0.45, since many questions
share a topic. So the question check is a backstop for answers on a clearly different topic
(a VAT rate for "may we sell DPI gear?" scores 0.02), not a relevance judge. Faithful bottom
lines had 11-31 content words besides verdict words; the planted verdicts 0-2.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from assistant.answer import Answer, Citation, Passage
from assistant.library.bm25 import tokenize
from assistant.llm.client import Generation, LLMFailure, generate
from assistant.llm.parts import read_parts
from assistant.llm.prompt import build_messages, echoes_prompt
from assistant.llm.verify import LIST_MARK, MARKER, Claim, Match, Matcher, read_claims
from assistant.settings import LLMSettings

VERDICT_WORDS = set(tokenize(
    "yes no approved approve approval proceed proceeding go ahead allowed allow permitted permit "
    "denied deny rejected reject ok okay fine safe cleared clear green light fine sale deal"))
MIN_REASON_WORDS = 5  # content words, verdict words aside, in the supported sentences
MIN_QUESTION_COSINE = 0.20  # the best supported sentence against the question
FLAG = " (⚠ not supported by the cited sources)"
ITEM_MARK = re.compile(r"\s*(?:[-*•]|\d{1,2}[.)]|#{1,6})\s+")


class LLMAnswerer:
    """Asks the chat model within its bounds, then checks the reply against its sources."""

    def __init__(self, chat_model, embedder, s: LLMSettings):
        self.chat_model = chat_model
        self.embedder = embedder
        self.s = s

    def answer(self, question: str, passages: list[Passage],
               on_token: Callable[[str], None] | None = None, config=None) -> Answer:
        gen = generate(self.chat_model, build_messages(question, passages), self.s, on_token,
                       config)
        return self.verify(question, gen.text, passages, gen)

    def verify(self, question: str, reply: str, passages: list[Passage],
               gen: Generation | None = None) -> Answer:
        """The reply as an Answer, or `LLMFailure` when it must not be shown."""
        t0 = time.perf_counter()
        if not reply.strip():
            raise LLMFailure("bad_response", "an empty reply")
        if echoes_prompt(reply):
            raise LLMFailure("echoed_prompt")
        claims = read_claims(reply, len(passages))
        checked = [i for i, c in enumerate(claims) if c.checked]
        if not checked:
            raise LLMFailure("declined" if any(c.not_covered for c in claims) else "unsupported",
                             "" if any(c.not_covered for c in claims)
                             else "no sentence that could be checked")
        matcher = Matcher(self.embedder, claims, passages)
        support, moved = self._support(matcher, checked)
        if len(support) < self.s.min_supported * len(checked) or not support:
            raise LLMFailure("unsupported", f"{len(support)} of {len(checked)} sentences")
        reasons = {w for i in support for w in tokenize(claims[i].plain)} - VERDICT_WORDS
        if len(reasons) < MIN_REASON_WORDS:
            raise LLMFailure("verdict_only")
        [qv] = self.embedder.encode([question])
        if max(float(qv @ matcher.claim_vecs[i]) for i in support) < MIN_QUESTION_COSINE:
            raise LLMFailure("off_question")
        unsupported = [i for i in checked if i not in support]
        text = _edit(reply, claims, support, moved, set(unsupported) if self.s.drop_unsupported
                     else set(), set(unsupported))
        timings = dict(gen.timings) if gen else {}
        timings["verify"] = time.perf_counter() - t0
        usage = {"finish_reason": gen.finish_reason, "tokens_in": gen.tokens_in,
                 "tokens_out": gen.tokens_out} if gen else {}
        return Answer(question, text, tuple(_citations(support, passages)), mode="llm",
                      parts=read_parts(question, text),
                      notice=_notice(claims, unsupported, moved, self.s.drop_unsupported),
                      unsupported=tuple(claims[i].written for i in unsupported),
                      timings=timings, llm=usage)

    @staticmethod
    def _support(matcher: Matcher, checked: list[int]) -> tuple[dict[int, Match], dict]:
        """The supporting match of each supported claim, and those found in another source."""
        support, moved = {}, {}
        for i in checked:
            good = [m for m in matcher.cited(i) if m.supports]
            if good:
                support[i] = max(good, key=lambda m: m.rank)
            elif (m := matcher.elsewhere(i)) is not None:
                support[i] = moved[i] = m
        return support, moved


def _edit(reply: str, claims: list[Claim], support: dict[int, Match], moved: dict[int, Match],
          drop: set[int], flag: set[int]) -> str:
    """The reply with markers put right, unsupported sentences flagged inline or dropped."""
    for i in sorted(range(len(claims)), reverse=True):
        c = claims[i]
        if i in drop:
            mark = ITEM_MARK.match(reply, c.start, c.end)  # keep "- " for what follows
            reply = reply[:mark.end() if mark else c.start] + reply[c.end:]
            continue
        raw = reply[c.start:c.end]
        tail = raw[len(raw.rstrip()):]
        if i in moved:  # its one right source, in place of whatever it cited
            segment = _tidy(MARKER.sub("", raw)) + f" [{moved[i].source}]"
        else:
            keep = set(c.sources)
            segment = _tidy(MARKER.sub(lambda m, keep=keep: _marker(m, keep), raw))
        if i in flag:
            segment += FLAG
        reply = reply[:c.start] + segment + tail + reply[c.end:]
    lines = [re.sub(r"(?<=\S) {2,}", " ", line.rstrip()) for line in reply.split("\n")]
    lines = [line for line in lines if not LIST_MARK.fullmatch(line + " ")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _marker(m: re.Match, keep: set[int]) -> str:
    """A marker with only the numbers of sources that exist."""
    numbers = [int(x) for x in re.split(r"[,;]", m.group(1)) if int(x) in keep]
    return "".join(f"[{n}]" for n in dict.fromkeys(numbers))


def _tidy(segment: str) -> str:
    """No space left before closing punctuation where a marker was removed."""
    return re.sub(r"\s+(?=[.;,:!?]?$)", "", segment.rstrip())


def _notice(claims: list[Claim], unsupported: list[int], moved: dict, dropped: bool) -> str | None:
    out = []
    if unsupported:
        what = "were removed" if dropped else "are marked as unsupported"
        out.append(f"{len(unsupported)} sentence(s) of the model's answer could not be matched to "
                   f"the sources they cite and {what}.")
    if moved:
        out.append(f"{len(moved)} sentence(s) cited the wrong source; the citation now points to "
                   "the source that states them.")
    wrong = sum(len(c.out_of_range) for c in claims)
    if wrong:
        out.append(f"{wrong} citation marker(s) pointed to sources that do not exist and were "
                   "removed.")
    return " ".join(out) or None


def _citations(support: dict[int, Match], passages: list[Passage]) -> list[Citation]:
    """One citation per source that supported sentences rely on; the quote is its best match."""
    best: dict[int, Match] = {}
    for m in support.values():
        if m.source not in best or m.rank > best[m.source].rank:
            best[m.source] = m
    out = []
    for n in sorted(best):
        m, p = best[n], passages[n - 1]
        out.append(Citation(n=n, doc_id=p.doc_id, title=p.title, quote=p.text[m.start:m.end],
                            page=p.page, section=p.section, start=p.start + m.start,
                            end=p.start + m.end, passage=p.text))
    return out
