"""Sign-in for the web app: who is on this page, and what they may do here.

`HRDD_SIGN_IN=oidc` signs people in with Streamlit's OpenID Connect login (`st.login`; the
provider is configured in `.streamlit/secrets.toml`); `proxy` believes the identity header
of an authenticating reverse proxy, only from `HRDD_TRUSTED_PROXIES`; `none` is the install
for one person on loopback. Every refusal is logged in the shared audit log and stops the
page before it does anything.
"""

from __future__ import annotations

import streamlit as st

from assistant.access.identity import User, local_user, refusal
from assistant.access.roles import Permission
from assistant.access.signin import NotSignedIn, user_from_claims, user_from_proxy
from ui.web import components as ui
from ui.web import resources

S = st.session_state
AUTH_COOKIE = "_streamlit_user"


def current_user() -> User:
    """The person on this page; shows the sign-in screen and stops when there is none."""
    s = resources.settings().access
    if s.sign_in == "none":
        return local_user()
    records = resources.access()
    try:
        if s.sign_in == "proxy":
            return user_from_proxy(st.context.headers, _peer(), s, records.roles_of)
        if st.user.is_logged_in:
            return user_from_claims(st.user.to_dict(), s, records.roles_of)
        if _has_auth_cookie():  # a cookie Streamlit did not accept
            raise NotSignedIn("the sign-in cookie is not valid (expired, or signed with "
                              "another secret)")
    except NotSignedIn as exc:
        _refused(records, str(exc))
    _sign_in_screen()
    st.stop()


def require(user: User, permission: Permission, action: str, target: str = "") -> None:
    """Stop the page, logged, unless `user` may do this; the server decides, not a button."""
    if user.may(permission):
        return
    exc = refusal(user, permission)
    key = ("refused", action, target)
    if S.get("access_logged") != key:  # once per refusal, not on every rerun
        resources.access().record(user, action, target, f"refused: {exc}", allowed=False)
        S["access_logged"] = key
    st.error(ui.inline(exc), icon=":material/block:")
    st.stop()


def who_field(user: User, label: str, key: str | None = None) -> str:
    """The name the audit trail records: the signed-in user, or (one-person install) typed."""
    if resources.settings().access.sign_in == "none":
        return st.text_input(label, max_chars=200, key=key)
    st.caption(f"Recorded in the audit trail as {ui.inline(user.label)}.")
    return user.label


def owner_id(user: User) -> str | None:
    """The id a new deal is kept under: the signed-in user, or None for a one-person install."""
    return None if user.via == "this computer" else user.id


def sidebar(user: User) -> None:
    if user.via == "this computer":
        return
    st.caption(f"Signed in as {ui.inline(user.label)} · "
               + ", ".join(sorted(r.value for r in user.roles)))
    if user.via == "sign-in" and st.button("Sign out", icon=":material/logout:"):
        resources.access().record(user, "sign-out")
        st.logout()


def _sign_in_screen() -> None:
    st.title("HRDD Assistant")
    st.write("Human-rights due diligence guidance, with citations. Sign in with your "
             "company account to continue.")
    if resources.settings().access.sign_in == "oidc" and st.button(
            "Sign in", type="primary", icon=":material/login:"):
        st.login()


def _refused(records, reason: str) -> None:
    if S.get("signin_logged") != reason:
        records.record("(not signed in)", "sign-in-refused", "", reason, allowed=False)
        S["signin_logged"] = reason
    st.error(f"Not signed in: {ui.inline(reason)}", icon=":material/block:")
    if _has_auth_cookie():
        st.caption("Sign in again below.")


def _has_auth_cookie() -> bool:
    return any(name.startswith(AUTH_COOKIE) for name in st.context.cookies)


def _peer() -> str | None:
    """The address the request came from; Streamlit reports a loopback peer as None."""
    return st.context.ip_address or ("127.0.0.1" if st.context.headers else None)
