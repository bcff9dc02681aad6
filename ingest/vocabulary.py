"""The starter library's controlled vocabulary: document kinds and topics, in one place.

The corpus tests check every front matter against these sets; code that needs topic names
imports them from here, so a topic cannot be spelled two ways. A company's own documents may
also use kind `policy` (see corpus/README.md); the starter library uses only the kinds below.
"""

from __future__ import annotations

KINDS = frozenset({"guidance", "case-study", "checklist"})

TOPICS = frozenset({
    # the 4 Ps of a deal
    "purpose", "place", "product", "purchaser",
    # business relationships and their terms
    "partners", "contracts", "mergers-acquisitions", "responsible-exit",
    # what governments ask of companies
    "government-requests", "surveillance", "shutdowns", "export-controls",
    # people and places
    "lgbti", "venues", "employees", "stakeholders",
    # the rights most at stake
    "privacy", "freedom-of-expression",
    # the due-diligence method
    "due-diligence", "impact-assessment", "severity", "leverage", "remedy", "policy",
    # internet governance
    "icann",
    # laws that make due diligence mandatory, and the legal overlays beside it
    "mandatory-due-diligence", "reporting", "sanctions", "finance",
    # hardware supply chains
    "supply-chain", "forced-labour", "conflict-minerals",
    # telecom and platform dilemmas
    "encryption", "data-retention", "platforms", "artificial-intelligence", "content-moderation",
    # conflict and people at risk
    "conflict-affected", "human-rights-defenders", "whistleblowers", "women", "religious-minorities",
    # where a case comes from
    "real-case",
})
