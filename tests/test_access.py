"""Who may do what, against a real SQLite database: roles from groups and from the roles
table, the reverse proxy's header believed only from a trusted address, a stale sign-in
refused, uploads that wait for a second librarian, a title that is not the document's own,
private deals and conversations, and every refusal in the audit log."""

from __future__ import annotations

import time

import pytest

from assistant.access.deals import may_open
from assistant.access.identity import Refused, User
from assistant.access.records import AccessRecords
from assistant.access.reviews import DocumentReviews, claim_problem
from assistant.access.roles import Permission, Role, parse_group_roles
from assistant.access.signin import NotSignedIn, user_from_claims, user_from_proxy
from assistant.assessments.sessions import SessionSummary
from assistant.settings import Settings
from tests.cli import hrdd


def _settings(**env) -> Settings:
    return Settings(**env)


@pytest.fixture
def records(tmp_path):
    recs = AccessRecords(f"sqlite:///{tmp_path / 'access.sqlite'}")
    yield recs
    recs.close()


def _user(user_id: str, *roles: Role) -> User:
    return User(user_id, user_id.split("@")[0].title(), frozenset(roles), "sign-in")


def test_roles_come_from_the_providers_groups_and_from_the_roles_table(records):
    s = _settings(sign_in="oidc", group_roles="hrdd-lib=librarian,hrdd-boss=approver").access
    records.grant("Ann@Example.com", "assessor", "cli:root")

    ann = user_from_claims({"email": "ann@example.com", "name": "Ann", "groups": ["hrdd-lib"],
                            "iat": time.time()}, s, records.roles_of)

    assert ann.roles == {Role.LIBRARIAN, Role.ASSESSOR}
    assert ann.may(Permission.CURATE) and ann.may(Permission.ASSESS)
    assert not ann.may(Permission.DECIDE)
    bob = user_from_claims({"email": "bob@example.com", "iat": time.time()}, s,
                           records.roles_of)
    assert bob.roles == {Role.READER}  # signed in, no role given: a reader


def test_a_sign_in_older_than_the_limit_is_refused():
    s = _settings(sign_in="oidc", sign_in_hours=12).access
    with pytest.raises(NotSignedIn, match="hours old"):
        user_from_claims({"email": "ann@example.com", "iat": time.time() - 13 * 3600}, s,
                         lambda _: frozenset())


def test_no_default_role_means_a_stranger_gets_nothing():
    s = _settings(sign_in="oidc", default_role="none").access
    with pytest.raises(NotSignedIn, match="has no role"):
        user_from_claims({"email": "eve@example.com"}, s, lambda _: frozenset())


def test_an_identity_header_is_believed_only_from_a_trusted_proxy():
    s = _settings(sign_in="proxy", trusted_proxies="10.0.0.5, 192.168.7.0/24").access
    headers = {"X-Forwarded-Email": "Ann@Example.com", "X-Forwarded-Groups": "a, b"}

    assert user_from_proxy(headers, "10.0.0.5", s, lambda _: frozenset()).id == \
        "ann@example.com"
    assert user_from_proxy(headers, "192.168.7.20", s, lambda _: frozenset()).via == "proxy"
    with pytest.raises(NotSignedIn, match="not a trusted proxy") as forged:
        user_from_proxy(headers, "127.0.0.1", s, lambda _: frozenset())
    assert "ann@example.com" in str(forged.value)  # the log says who it claimed to be
    with pytest.raises(NotSignedIn, match="no X-Forwarded-Email"):
        user_from_proxy({}, "10.0.0.5", s, lambda _: frozenset())


def test_a_bad_setting_names_itself():
    with pytest.raises(ValueError, match="HRDD_GROUP_ROLES: 'x=boss' is not a role|"
                                         "HRDD_GROUP_ROLES: 'boss' is not a role"):
        parse_group_roles("x=boss")
    s = _settings(sign_in="proxy", trusted_proxies="not-an-address").access
    with pytest.raises(ValueError, match="HRDD_TRUSTED_PROXIES"):
        user_from_proxy({"X-Forwarded-Email": "a@b.c"}, "10.0.0.1", s, lambda _: frozenset())


def test_an_upload_waits_for_a_librarian_other_than_its_uploader(records):
    reviews = DocumentReviews(records)
    ann, bob = _user("ann@x.org", Role.LIBRARIAN), _user("bob@x.org", Role.LIBRARIAN)
    review = reviews.submit("policy.md", b"# Policy", "policy", "Our policy", ann, "h")

    assert [r.id for r in reviews.pending()] == [review.id]
    with pytest.raises(Refused, match="another librarian must approve"):
        reviews.decide(review.id, True, ann, second_person=True)
    assert reviews.pending()  # nothing changed
    done = reviews.decide(review.id, True, bob, second_person=True)

    assert done.status == "approved" and not reviews.pending()
    assert reviews.approved()["policy"].provenance.startswith(
        f"Added by {ann.label} on ") and f"approved by {bob.label}" in done.provenance
    log = records.events()
    assert [(e.action, e.allowed) for e in reversed(log)] == [
        ("upload", True), ("approve", False), ("approve", True)]


def test_a_document_cannot_take_the_title_or_id_of_another():
    library = [("ungp", "UN Guiding Principles on Business and Human Rights", "ungp.md")]

    assert "title" in claim_problem("my-upload", "UN guiding principles on business and "
                                    "human rights!", "my-upload.md", library)
    assert "id 'ungp'" in claim_problem("ungp", "Something else", "ungp-copy.md", library)
    assert claim_problem("ungp", "UN Guiding Principles on Business and Human Rights",
                         "ungp.md", library) is None  # a new version of the same file
    assert claim_problem("notes", "Our own notes", "notes.md", library) is None


def _deal(owner, shared=(), signoff=None) -> SessionSummary:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return SessionSummary("s1", "Deal", "Ann", "export-deal", now, now, None, signoff,
                          owner=owner, shared_with=tuple(shared))


def test_a_deal_is_private_to_its_assessor_those_it_is_shared_with_and_approvers():
    ann, cid = _user("ann@x.org", Role.ASSESSOR), _user("cid@x.org", Role.ASSESSOR)
    boss, admin = _user("boss@x.org", Role.APPROVER), _user("root@x.org", Role.ADMIN)
    deal = _deal("ann@x.org")

    assert may_open(ann, deal) and may_open(admin, deal)
    assert not may_open(cid, deal) and not may_open(boss, deal)  # not escalated: not boss's
    assert may_open(cid, _deal("ann@x.org", ["cid@x.org"]))
    assert may_open(boss, _deal("ann@x.org", signoff="awaiting"))


def test_conversations_are_their_owners_alone(tmp_path):
    from assistant.answer import Answer
    from assistant.conversations import ConversationRecords

    store = ConversationRecords(f"sqlite:///{tmp_path / 'c.sqlite'}")
    answer = Answer(question="May we sell lawful interception kit?", text="No.")
    mine = store.add_turn(None, "t1", answer, {}, owner="ann@x.org")
    theirs = store.add_turn(mine, "t2", answer, {}, owner="eve@x.org")  # not into Ann's

    assert theirs != mine
    assert [c.id for c in store.list("ann@x.org")] == [mine]
    with pytest.raises(KeyError):
        store.load(mine, "eve@x.org")
    with pytest.raises(KeyError):
        store.delete(mine, "eve@x.org")
    assert len(store.load(mine, "ann@x.org").turns) == 1
    store.close()


def test_the_command_line_needs_a_role_once_sign_in_is_on(tmp_path):
    env = {"HRDD_SIGN_IN": "proxy", "HRDD_TRUSTED_PROXIES": "10.0.0.5"}
    data = tmp_path / "data"

    refused = hrdd(["library", "remove", "ungp"], data, tmp_path, env=env)
    assert refused.exit_code == 3 and "needs the librarian role" in refused.output
    first = hrdd(["users", "grant", "ann@x.org", "admin"], data, tmp_path, env=env)
    assert first.exit_code == 0 and "the first admin" in first.output
    second = hrdd(["users", "grant", "eve@x.org", "admin"], data, tmp_path, env=env)
    assert second.exit_code == 3 and "needs the admin role" in second.output  # not cli:me
    log = hrdd(["users", "list"], data, tmp_path, env=env)
    assert log.exit_code == 3  # the command line itself has no role yet
    records = AccessRecords(f"sqlite:///{(data / 'sessions.sqlite').resolve()}")
    assert [(e.action, e.allowed) for e in reversed(records.events())] == [
        ("remove", False), ("role-grant", True), ("role-grant", False), ("role-list", False)]
    assert records.roles_of("eve@x.org") == frozenset()
    records.close()
