"""What kind of question a user asked, from its words alone (no model): the answer's shape.

- `yes-no`: a dilemma asking for a verdict ("can we sell ...?", "ok to ship??", "..., right?");
  the answer leads with the library's verdict.
- `how-to`: asks what to do ("what do we do", "how should we respond", "what are our options").
- `list`: asks for the items of a list ("what are the seven components ...").
- `what-is`: asks for a fact or an explanation; the default.

A yes/no question also `asks` for permission ("can we ship?", "fine?"), about a concern ("red
flag?", "is that our problem?") or whether to resist a demand ("can we push back at all?"),
which decides the polarity of its verdict.

The rules are checked against every question of the golden set (tests/test_question.py).
"""

from __future__ import annotations

import re

YES_NO, HOW_TO, LIST, WHAT_IS = "yes-no", "how-to", "list", "what-is"

_HOW_TO = re.compile(
    r"\b(what (do|should|shld|shd|shud|can|shall) (we|i|they)( \w+)? do|what now|"
    r"what are (our|my|the) options|"
    r"how (do|should|can|would|could) (we|i)\b|how to\b|how do(es)? (one|a company)|"
    r"what should .{0,40}\b(look at|do|include|cover)\b|what steps|which steps|"
    r"who should (we|i)|where do (we|i) start|how (do|can) we even|"
    r"which (ones|risks|impacts|issues) (do|should) (we|i))", re.I)
_LIST = re.compile(
    r"^\s*(what|which|name|list)\b.{0,40}\b(are|were)\b.{0,30}\b(the )?(\w+ )?(steps|components|"
    r"criteria|pillars|principles|standards|considerations|areas|categories|outcomes|aims|"
    r"indicators|elements|parts|ps|streams|approaches|questions|requirements|duties|rights|"
    r"forms|ways|functions)\b|^\s*list\b|\b(seven|six|five|four|three|eight|two|nine|ten) "
    r"([\w-]+ ){0,2}(steps|components|criteria|pillars|standards|considerations|streams|aims|"
    r"functions|indicators|principles)\b|^\s*what (criteria|steps|forms|areas|categories)\b",
    re.I)
_VERDICT_START = re.compile(
    r"^\s*(can|could|may|might|should|shall|must|is|are|am|was|were|do|does|did|will|would|"
    r"have|has|need|ok|okay|any reason|can'?t|cannot|won'?t|isn'?t|aren'?t|don'?t|doesn'?t|"
    r"shouldn'?t|wouldn'?t)\b", re.I)
_VERDICT_ANYWHERE = re.compile(
    r"(\b(ok|okay|fine|allowed|acceptable|good enough|a deal breaker|a red flag|red flag|"
    r"a problem|problem|legal|safe) to\b|\bok to \w+|, right\s*\?|\bright\s*\?+\s*$|"
    r"\bor not\b|\b(should|can|may|could|must) (we|i|hr|they|the company|our \w+)\b|"
    r"\b(do|does|did) (we|i|they) (just |really |still )?\w+|\bis (it|that|this) "
    r"(ok|okay|fine|legal|allowed|enough|good enough|a problem|a deal breaker)\b|"
    r"\b(red flag|problem|deal breaker|thoughts)\s*\?+\s*$|\bany (problem|issue|concern)s?\b|"
    r"\bare we (ok|fine|off the hook|"
    r"covered|allowed)\b|\bwont\b.{0,70}\?\s*$)", re.I)


_WH = re.compile(r"\b(what|whats|what's|how|why|when|where|which|who|whom|whose)\b", re.I)
# "What should we propose instead?" asks for content, not a verdict, though "should we" is in it;
# "what if we just ship it?" still asks for one.
_WH_START = re.compile(r"^\s*(what|whats|what's|which|how|when|where|who|whom|whose|why)\b"
                       r"(?!\s+(if|about)\b)", re.I)
_WH_ACTION = re.compile(r"\b(should|shld|shd|shud|can|could|must) (we|i|our \w+( \w+)?)\b",
                        re.I)


def asking_sentence(question: str) -> str:
    """The last sentence that asks a question (else the last sentence): the rest is context
    typed around it."""
    q = " ".join(question.split())
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", q) if s] or [q]
    return ([s for s in sentences if s.rstrip().endswith("?")] or sentences)[-1]


def question_type(question: str) -> str:
    """The shape the answer to `question` should take: yes-no, how-to, list or what-is."""
    q = " ".join(question.split())
    last = asking_sentence(q)
    if _LIST.search(q) and not _VERDICT_START.match(last):
        return LIST
    if _HOW_TO.search(last):
        return HOW_TO
    if _VERDICT_START.match(last) or _VERDICT_ANYWHERE.search(last):
        if _WH_START.match(last):
            return HOW_TO if _WH_ACTION.search(last) else WHAT_IS
        return YES_NO
    if last.rstrip().endswith("?") and not _WH.search(last):
        return YES_NO  # a question with no wh-word asks for a yes or a no ("... fine?")
    if _HOW_TO.search(q):
        return HOW_TO
    if "?" not in q and not _WH.search(q):
        return HOW_TO  # a situation told with no question asks what to do about it
    return WHAT_IS


# A question of fact may open with the frame it is asked in ("Under the UK Act, what ...",
# "For how long was ...").
_FACT_START = re.compile(r"^\s*((for|in|under|since|during|by|on|at|from|according to)\b[^?]{0,60}?"
                         r"[\s,])?(what|when|who|whom|which|where|why|how (much|many|long|often|did|"
                         r"was|were|does|do|is|are)\b)", re.I)


def asks_for_facts(question: str, kind: str) -> bool:
    """A question of fact typed as one ("When did ...?", "Who ran ...?"), not a situation
    described with no question word: its answer may quote a case's story."""
    return kind in (WHAT_IS, LIST) and bool(_FACT_START.match(question))


# What a yes/no question asks, for the polarity of its verdict: whether something may be done
# ("can we ship?", "fine?", "so we go ahead?": yes means go), whether something is wrong
# ("red flag?", "is that our problem?": yes means stop), or whether we may stand up to a demand
# ("can we push back at all?", "should we refuse the order?": yes means resist). The same
# situation gets opposite verdicts under them, so a verdict written for one does not answer
# another: "can we just block them? No" does not answer "can we push back?".
PERMIT, CONCERN, RESIST = "permit", "concern", "resist"
_RESIST = re.compile(
    r"\b(can|could|may|might|should|shall|must|do|does|are|is) (we|i|they|an? (operator|company|"
    r"vendor|provider)|the (operator|company|vendor|provider)|our \w+) (just |even |really |still |"
    r"legally |at least |be allowed to |allowed to )?(push back|refuse|challenge|resist|object|"
    r"contest|say no|turn (it |them |this |that )?down|stand up to)\b", re.I)
_ASKS = re.compile(  # the first named wins: "is it a problem if they can see it?" is a concern
    r"\b(?:(?P<concern>red flags?|problems?|issues?|concerns?|deal breaker|our (business|fault)|"
    r"(?<!corporate )responsib(le|ility)(?! (choice|way|exit|team))|liable|"
    r"human[- ]rights (issue|question|matter|risk)|forced labou?r)|"
    r"(?P<permit>can|could|may|might|should|shall|ok|okay|fine|allowed|acceptable|go ahead|"
    r"proceed|sign|safe to|enough|settles?|off the hook|just|simply|covered|accept|agree|go(?=\?)|"
    r"(end|ends|remove|removes|clear|clears|replace|replaces) (our|its|the)))\b", re.I)
_NEGATED = re.compile(r"\b(not|isn'?t|isnt|aren'?t|arent|no|never|won'?t|wont|nothing)\W+"
                      r"(\w+\W+){0,2}$", re.I)


def asks(question: str) -> str | None:
    """PERMIT, CONCERN or RESIST for the question's asking sentence, None if it names none ("does
    the sale end our responsibility?" asks whether we are free of it); a concern denied
    ("isnt really our problem right?") asks for permission."""
    last = asking_sentence(question)
    if _RESIST.search(last):
        return RESIST
    m = _ASKS.search(last)
    if not m:
        return None
    if m.group("concern") and _NEGATED.search(last[:m.start()]):
        return PERMIT
    return CONCERN if m.group("concern") else PERMIT


def wants_action(kind: str) -> bool:
    """Whether the answer should lead with what to do (dilemmas and how-to questions)."""
    return kind in (YES_NO, HOW_TO)
