"""Links a document declares to the sections of other documents it applies (front matter
`applies`, corpus/README.md): a case study names the guidance it puts into practice.

A question told as a case's story finds the case; the general guidance that answers it shares
few of its words. When a linking document ranks among the best, the sections it names join
the candidates with a share of its score (`LINK_WEIGHT`): scored like any other candidate,
never forced into the answer.
"""

from __future__ import annotations

from assistant.library.chunk_table import load
from assistant.library.sections import STEPS, SectionMap
from assistant.library.store import StoredChunk

LINK_TOP = 2  # the best-ranked documents whose links are followed
# A linked section's score: LINK_WEIGHT times its linking chunk's, times LINK_DECAY for each
# link the document lists before it (the first named is the closest). Chosen on the golden
# set's tune half (2026-12-01): weights 0.9 to 1.0 and decays 0.8 to 0.9 lie within 0.007 of
# each other; without the decay a case's later links crowd out its own sections.
LINK_WEIGHT, LINK_DECAY = 0.9, 0.85


def declared(meta: dict) -> list[tuple[str, str | None]]:
    """A chunk's `applies` links as (document id, section number or None for its What to do)."""
    links = []
    for part in str(meta.get("applies") or "").split():
        doc_id, _, numbers = part.partition(":")
        links += [(doc_id, n) for n in numbers.split(",")] if numbers else [(doc_id, None)]
    return links


def add_linked(fused: dict[str, float], chunks: dict[str, StoredChunk], sections: SectionMap,
               allowed: list[str] | None) -> None:
    """Add (or raise) the sections the best documents link to, in place."""
    docs: list[str] = []
    for cid in sorted(fused, key=lambda c: -fused[c]):
        doc_id = chunks[cid].metadata.get("doc_id")
        if doc_id in docs:
            continue
        docs.append(doc_id)
        if len(docs) > LINK_TOP:
            return
        score = LINK_WEIGHT * fused[cid]
        for n, (target, number) in enumerate(declared(chunks[cid].metadata)):
            if allowed is not None and target not in allowed:
                continue
            unit = (sections.unit(target, number) if number
                    else [i for s in sections.with_role(target, STEPS) for i in s.chunks])
            if not unit:
                continue
            candidates = load(sections.chunks, unit)  # one store read for a large library
            present = [c for c in candidates if c.chunk_id in fused]
            best = max(present, key=lambda c: fused[c.chunk_id]) if present else candidates[0]
            chunks.setdefault(best.chunk_id, best)
            fused[best.chunk_id] = max(fused.get(best.chunk_id, 0.0), score * LINK_DECAY ** n)
