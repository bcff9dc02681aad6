"""`hrdd users grant|revoke|list` and `hrdd audit`: roles, and the log of shared changes.

On an install with sign-in (`HRDD_SIGN_IN`), the command line acts as `cli:<login name>` and
needs a role like anyone else: the admin role for `users`, librarian for `ingest`, `library
remove` and a rebuild. The very first admin may be granted by anyone who can run the command
on the server (there is no one else to ask); that grant is logged like every other.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from assistant.settings import Settings
from ui.cli.common import fail, out

users_app = typer.Typer(help="Give people roles in the app (reader, assessor, approver, "
                             "librarian, admin).", no_args_is_help=True)


def access_records(settings: Settings):
    from assistant.access.records import AccessRecords

    return AccessRecords(settings.sessions_url)


def cli_user(settings: Settings, records=None):
    """Who the command line acts as: the one person of an install without sign-in, else
    `cli:<login name>` with the roles granted to that id."""
    from assistant.access.identity import User, local_user

    me = local_user("command line")
    if settings.sign_in == "none":
        return me
    records = records or access_records(settings)
    user_id = f"cli:{me.name}".lower()
    return User(user_id, user_id, records.roles_of(user_id), "command line")


def require(settings: Settings, permission: str, action: str, target: str = "",
            log: bool = True):
    """The command-line user and the access records, if they may do this; else a clear error
    (logged). Without sign-in and with `log` False, nothing is opened: (the user, None)."""
    from assistant.access.identity import refusal
    from assistant.access.roles import Permission

    if settings.sign_in == "none" and not log:
        return cli_user(settings), None
    records = access_records(settings)
    user = cli_user(settings, records)
    if not user.may(Permission(permission)):
        exc = refusal(user, Permission(permission))
        records.record(user, action, target, f"refused: {exc}", allowed=False)
        fail(str(exc), 3)
    return user, records


@users_app.command("grant")
def grant(user: str = typer.Argument(..., help="Sign-in e-mail address (or cli:<login>)."),
          role: str = typer.Argument(..., help="reader, assessor, approver, librarian, admin")):
    """Give a person a role (added to what their identity provider's groups give)."""
    settings = Settings()
    records = access_records(settings)
    me = cli_user(settings, records)
    from assistant.access.roles import Permission, Role, parse_role

    try:
        wanted = parse_role(role)
    except ValueError as exc:
        fail(str(exc))
    first_admin = wanted is Role.ADMIN and not records.has_admin()
    if not (first_admin or me.may(Permission.ADMINISTER)):
        require(settings, Permission.ADMINISTER, "role-grant", user)
    try:
        records.grant(user, wanted, me)
    except ValueError as exc:
        fail(str(exc))
    out.print(f"{user} now has the {wanted} role" + (" (the first admin)." if first_admin
                                                     else "."))


@users_app.command("revoke")
def revoke(user: str, role: str):
    """Take a role back (a role from the identity provider's groups stays)."""
    settings = Settings()
    me, records = require(settings, "administer", "role-revoke", user)
    try:
        gone = records.revoke(user, role, me)
    except ValueError as exc:
        fail(str(exc))
    out.print(f"Revoked {role} from {user}." if gone else f"{user} had no {role} role here.")


@users_app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="JSON on stdout.")):
    """Roles granted here (not those the identity provider's groups give)."""
    settings = Settings()
    _, records = require(settings, "administer", "role-list")
    grants = records.grants()
    if as_json:
        print(json.dumps([{"user": g.user_id, "role": str(g.role), "granted_by": g.granted_by,
                           "granted_at": g.granted_at.isoformat()} for g in grants], indent=2))
        return
    table = Table(title=f"Roles granted: {len(grants)}")
    for col in ("user", "role", "granted by", "when (UTC)"):
        table.add_column(col)
    for g in grants:
        table.add_row(g.user_id, str(g.role), g.granted_by, f"{g.granted_at:%Y-%m-%d %H:%M}")
    out.print(table)


def audit(as_csv: bool = typer.Option(False, "--csv", help="CSV on stdout."),
          limit: int = typer.Option(0, help="Only the latest N events (0: all).")):
    """The shared audit log: uploads, reviews, removals, rebuilds, roles, deal views and
    exports, and every refusal; newest first, as JSON lines (or CSV)."""
    settings = Settings()
    _, records = require(settings, "administer", "audit-export")
    if as_csv:
        print(records.events_csv(), end="")
        return
    for e in records.events(limit=limit or None):
        print(json.dumps(e.to_dict(), ensure_ascii=False))
