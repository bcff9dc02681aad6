"""The person behind a request, and the refusal when they may not do something."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from assistant.access.roles import ROLE_FOR, WHAT, Permission, Role, permissions


@dataclass(frozen=True)
class User:
    """A signed-in person (or the one person of an install without sign-in)."""

    id: str  # stable: the e-mail address, else the identity provider's subject
    name: str
    roles: frozenset[Role]
    via: str  # "sign-in", "proxy", "this computer" or "command line"

    def may(self, permission: Permission) -> bool:
        return permission in permissions(self.roles)

    @property
    def label(self) -> str:
        """How the audit trail names them: "Name <id>", or the id alone."""
        return self.id if self.name in ("", self.id) else f"{self.name} <{self.id}>"


class Refused(PermissionError):
    """A request the user's roles do not allow; the message says what would allow it."""


def refusal(user: User, permission: Permission) -> Refused:
    return Refused(f"{user.label} may not {WHAT[permission]}: that needs the "
                   f"{ROLE_FOR[permission]} role (an admin grants it with `hrdd users grant`, "
                   "or through your identity provider's groups)")


def local_user(via: str = "this computer") -> User:
    """The one person of an install without sign-in: every permission, named by the OS."""
    name = _os_user()
    return User(f"local:{name}", name, frozenset({Role.ADMIN}), via)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "user"
