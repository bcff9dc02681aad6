"""The shorthand employees type, spelt out for search: "govt", "LI", "JV", "cut mobile data".

A question typed in a hurry shares few words with the library's prose: "the ministry wants us
to turn off mobile data" never says "shutdown", "SDN" never says "sanctions". `spelt_out`
appends the library's words for the shorthand and the everyday phrases a question contains,
so keyword search and the coverage of the question's terms see them; the question's own words
stay. The table is domain vocabulary (abbreviations of the field, the plain words people use
for its acts), written from the field's usage, not from any test question.
"""

from __future__ import annotations

import re

# (pattern, words added). Patterns are matched case-insensitively unless they start with
# (?-i), for abbreviations that are ordinary words in lower case ("LI", "DPA").
SHORTHAND: tuple[tuple[str, str], ...] = (
    # everyday abbreviations
    (r"\bgov(t|'t|ts)?\b", "government"),
    (r"\bmgmt\b|\bmgt\b", "management"),
    (r"\bppl\b", "people"),
    (r"\btmrw\b|\btmr\b", "tomorrow"),
    (r"\byrs?\b", "years"),
    (r"\bw/", "with"),
    # the field's abbreviations
    (r"(?-i:\bLI\b)", "lawful interception"),
    (r"\bcdrs?\b", "call data records metadata"),
    (r"\bjv\b", "joint venture partner"),
    (r"\bopco\b", "operating company subsidiary"),
    (r"\bholdco\b", "holding company"),
    (r"\bsdns?\b", "sanctions list specially designated nationals"),
    (r"(?-i:\bMSA\b)", "modern slavery act statement"),
    (r"(?-i:\bDPA\b)", "data protection authority"),
    (r"\bnoc\b", "network operations"),
    (r"\bcto\b|\bceo\b|\bcfo\b", "senior management"),
    (r"(?-i:\bToS\b|\bTOS\b)", "terms of service"),
    (r"\bngos?\b", "civil society organisation"),
    (r"\bhrds?\b", "human rights defenders"),
    (r"\bpcbs?\b", "electronics supplier"),
    (r"\bkyc\b", "know your customer due diligence"),
    (r"(?-i:\bECAs?\b)", "export credit agency"),
    (r"\bvlops?\b", "very large online platform digital services act"),
    # everyday words for the field's acts
    (r"\b(cut|turn(ing)? off|switch(ing)? off|shut(ting)? (off|down)|kill|pull the plug on)\b"
     r".{0,30}\b(internet|network|mobile data|data|service|coverage|sms|signal)\b",
     "network shutdown order"),
    (r"\b(blackout|throttl\w*|internet (is )?down)\b", "network shutdown"),
    (r"\b(cops|police|law enforcement)\b", "law enforcement demand"),
    (r"\bwarrant(less)?\b|\bno (court )?order\b", "court order legal basis"),
    (r"\b(hack(ing)?|exploit|zero[- ]click|phone hacking)\b", "spyware surveillance"),
    (r"\b(pull(ing)? out|leav(e|ing) the (country|market)|exit(ing)?)\b", "responsible exit"),
    (r"\b(take ?down|takedown|remove|delete)s?\b.{0,20}\b(posts?|content|accounts?|videos?)\b",
     "content removal restriction"),
    (r"\bbackdoor|\bdecrypt|\bencryption keys?\b", "encryption access"),
    (r"\btrans\b|\bgay\b|\blesbian\b|\bqueer\b", "lgbti"),
    (r"\bbribe|\bkickback|\bpresident'?s (family|daughter|relative)", "corruption"),
)
_COMPILED = tuple((re.compile(p, re.I), words) for p, words in SHORTHAND)


def spelt_out(question: str) -> str:
    """The question with the library's words for its shorthand appended (each added once)."""
    added = [words for pattern, words in _COMPILED if pattern.search(question)]
    return " ".join([question, *dict.fromkeys(added)])
