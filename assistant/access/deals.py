"""Who may open a deal assessment: deals are confidential export plans.

A deal is open to the person who started it, the people they shared it with, the approvers
once it is escalated (they decide it), and admins. A deal started before sign-in was
configured has no owner: admins and approvers see it. In an install for one person, that
person is an admin and sees every deal.
"""

from __future__ import annotations

from collections.abc import Iterable

from assistant.access.identity import User
from assistant.access.roles import Permission


def may_open(user: User, deal) -> bool:
    """`deal`: a `SessionSummary` (owner, shared_with, signoff status)."""
    if user.may(Permission.ADMINISTER) or user.id == deal.owner or user.id in deal.shared_with:
        return True
    return user.may(Permission.DECIDE) and (deal.signoff is not None or deal.owner is None)


def visible(user: User, deals: Iterable) -> list:
    return [d for d in deals if may_open(user, d)]
