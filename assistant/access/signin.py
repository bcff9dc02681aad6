"""Who signed in: from the identity token's claims (OpenID Connect) or from the header an
authenticating reverse proxy sets, believed only from a trusted proxy address.

The roles are those the identity provider's groups give (`HRDD_GROUP_ROLES`) plus those an
admin granted in the roles table; a signed-in person with neither is a reader
(`HRDD_DEFAULT_ROLE`), or has no access when that is "none".
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping

from assistant.access.identity import User
from assistant.access.roles import Role, parse_group_roles, roles_from_groups
from assistant.settings import AccessSettings

Granted = Callable[[str], frozenset[Role]]  # the roles table's roles of a user id


class NotSignedIn(PermissionError):
    """A request without a usable identity; the message says why, for the log and the user."""


def user_from_claims(claims: Mapping, settings: AccessSettings, granted: Granted,
                     now: float | None = None) -> User:
    """The user an OpenID Connect identity token names."""
    user_id = str(claims.get("email") or claims.get("sub") or "").strip().lower()
    if not user_id:
        raise NotSignedIn("the identity provider sent no e-mail address or subject")
    issued = claims.get("auth_time") or claims.get("iat")
    if isinstance(issued, int | float) and settings.sign_in_hours > 0:
        age_h = ((now or time.time()) - issued) / 3600
        if age_h > settings.sign_in_hours:
            raise NotSignedIn(f"the sign-in of {user_id} is {age_h:.0f} hours old (the limit "
                              f"is {settings.sign_in_hours:g}); sign in again")
    groups = claims.get(settings.groups_claim) or ()
    groups = [groups] if isinstance(groups, str) else [str(g) for g in groups]
    return _user(user_id, str(claims.get("name") or user_id), groups, settings, granted,
                 "sign-in")


def user_from_proxy(headers: Mapping[str, str], peer: str | None, settings: AccessSettings,
                    granted: Granted) -> User:
    """The user an authenticating reverse proxy names, if the request came from it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    user_id = (lowered.get(settings.proxy_user_header.lower()) or "").strip().lower()
    if not trusted(peer, settings.trusted_proxies):
        detail = f" (it carried {settings.proxy_user_header}: {user_id})" if user_id else ""
        raise NotSignedIn(f"the request came from {peer or 'an unknown address'}, which is not "
                          f"a trusted proxy (HRDD_TRUSTED_PROXIES){detail}")
    if not user_id:
        raise NotSignedIn(f"the proxy sent no {settings.proxy_user_header} header")
    groups = [g.strip() for g in (lowered.get(settings.proxy_groups_header.lower()) or "")
              .split(",") if g.strip()]
    return _user(user_id, user_id, groups, settings, granted, "proxy")


def trusted(peer: str | None, proxies: tuple[str, ...]) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            raise ValueError(f"HRDD_TRUSTED_PROXIES: {proxy!r} is not an address or a "
                             "network (for example 10.0.0.5 or 10.0.0.0/24)") from None
    return False


def _user(user_id: str, name: str, groups: list[str], settings: AccessSettings,
          granted: Granted, via: str) -> User:
    roles = roles_from_groups(groups, parse_group_roles(settings.group_roles)) | granted(user_id)
    if not roles and settings.default_role == "reader":
        roles = frozenset({Role.READER})
    if not roles:
        raise NotSignedIn(f"{user_id} has no role in HRDD Assistant; an admin grants one with "
                          "`hrdd users grant`")
    return User(user_id, name, roles, via)
