"""How a guided assessment begins, the same on every surface: guidance first, then the session.

`library_guidance` is the one source of cited guidance for the steps (the library's assistant,
or none with the reason said); `start_session` records a new session with that guidance;
`start_reassessment` records a new session that starts from an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.answer import Citation
from assistant.assessments.assessment import Assessment
from assistant.assessments.playbook import PLAYBOOKS_DIR, PlaybookError, find_playbook
from assistant.assessments.reassessment import reassess

GUIDANCE_PER_STEP = 3


@dataclass(frozen=True)
class GuidanceSource:
    """Where the steps' guidance comes from, and the library version the audit trail records."""

    find: Callable[[str], Sequence[Citation]]
    library_version: str
    missing: str | None = None  # why the steps show no guidance, when they cannot


def no_guidance(why: str) -> GuidanceSource:
    return GuidanceSource(lambda query: (), "unavailable", why)


def library_guidance(open_assistant: Callable[[], object]) -> GuidanceSource:
    """The library's passages for each step's query; an assessment goes on without them
    (with the reason) when the library cannot be opened or is empty."""
    try:
        assistant = open_assistant()
        if not assistant.library.store.documents():
            return no_guidance("the library is empty")
    except ImportError as exc:
        return no_guidance(f"the guidance library is not available in this build ({exc})")
    except Exception as exc:  # noqa: BLE001 - an assessment must go on without the library
        return no_guidance(f"could not open the guidance library ({exc})")
    return GuidanceSource(lambda query: tuple(assistant.guidance(query, k=GUIDANCE_PER_STEP)),
                          assistant.library_version)


def start_session(records, new: Assessment, who: str, guidance: GuidanceSource,
                  filled: Assessment | None = None, owner: str | None = None) -> Assessment:
    """Record a new session, then each step's guidance; the saved session is returned.

    `filled` is the same session with answers already given (an answers file): they are saved
    as the session's first changes, so the audit trail lists each one.
    """
    records.create(new, who, owner)
    done = (filled or new).fetch_guidance(guidance.find)
    records.save(done, who)
    return done


def start_reassessment(records, earlier_id: str, assessor: str, guidance: GuidanceSource,
                       playbooks: str | Path = PLAYBOOKS_DIR,
                       owner: str | None = None) -> Assessment:
    """Record a new session on the deal of session `earlier_id`, starting from its inputs
    under the current version of its playbook (or the one it used, if that is gone).

    The copied inputs are saved as the new session's first changes, so the audit trail
    lists each one; the new session keeps the link to the earlier one.
    """
    earlier = records.load(earlier_id)
    try:
        playbook = find_playbook(earlier.playbook.id, playbooks)
    except PlaybookError:
        playbook = earlier.playbook
    filled = reassess(earlier, assessor, playbook)
    blank = replace(filled, answers={}, country_facts={}, overrides={}, mitigations=(),
                    mitigable={})
    return start_session(records, blank, assessor, guidance, filled, owner)
