"""Roles and what each may do.

Five roles: a **reader** asks and exports their own conversations; an **assessor** creates
and edits their own deal assessments; an **approver** decides escalated assessments; a
**librarian** uploads, reviews, removes and rebuilds the library; an **admin** may do all of
that, edit roles and read every record. Roles add up: an assessor who is also a librarian
has both sets of permissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    READER = "reader"
    ASSESSOR = "assessor"
    APPROVER = "approver"
    LIBRARIAN = "librarian"
    ADMIN = "admin"


class Permission(StrEnum):
    ASK = "ask"  # ask questions, keep and export one's own conversations
    ASSESS = "assess"  # create and edit one's own deal assessments
    DECIDE = "decide"  # sign off escalated assessments
    CURATE = "curate"  # upload, review, remove documents; rebuild the index
    ADMINISTER = "administer"  # edit roles, read every record and the audit log


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.READER: frozenset({Permission.ASK}),
    Role.ASSESSOR: frozenset({Permission.ASK, Permission.ASSESS}),
    Role.APPROVER: frozenset({Permission.ASK, Permission.DECIDE}),
    Role.LIBRARIAN: frozenset({Permission.ASK, Permission.CURATE}),
    Role.ADMIN: frozenset(Permission),
}
WHAT = {Permission.ASK: "ask questions", Permission.ASSESS: "work on deal assessments",
        Permission.DECIDE: "decide escalated deal assessments",
        Permission.CURATE: "change the library", Permission.ADMINISTER: "administer the app"}
ROLE_FOR = {Permission.ASK: Role.READER, Permission.ASSESS: Role.ASSESSOR,
            Permission.DECIDE: Role.APPROVER, Permission.CURATE: Role.LIBRARIAN,
            Permission.ADMINISTER: Role.ADMIN}


def permissions(roles: Iterable[Role]) -> frozenset[Permission]:
    return frozenset().union(*(GRANTS[r] for r in roles))


def parse_role(text: str, field: str = "role") -> Role:
    """A role named in a command or a setting; the error names the field and the choices."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a role; choose one of "
                         f"{', '.join(r.value for r in Role)}") from None


def parse_group_roles(text: str) -> dict[str, frozenset[Role]]:
    """`HRDD_GROUP_ROLES`, "group=role,group=role": which identity-provider group gives
    which role. A group may appear twice to give two roles."""
    mapping: dict[str, set[Role]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        group, eq, role = item.rpartition("=")
        if not eq or not group.strip():
            raise ValueError(f"HRDD_GROUP_ROLES: {item!r} is not group=role "
                             "(for example hrdd-librarians=librarian)")
        mapping.setdefault(group.strip(), set()).add(parse_role(role, "HRDD_GROUP_ROLES"))
    return {g: frozenset(r) for g, r in mapping.items()}


def roles_from_groups(groups: Iterable[str], mapping: dict[str, frozenset[Role]]
                      ) -> frozenset[Role]:
    return frozenset().union(*(mapping.get(g, frozenset()) for g in groups))
