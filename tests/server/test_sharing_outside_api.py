"""Sharing a ticket with people outside its organization, through the real HTTP API: an invited
address sees that one ticket and nothing else; another organization's users are for agents."""

from __future__ import annotations

import email
import email.policy
import io
import re

import pytest

from helpdesk.models import Membership, OutboxMessage, Share, User

API = "/api/v1"
GUEST = "vendor@outside.test"
PASSWORD = "vendor-password-9"


def share(client, world, ticket, users, who=None):
    return client.post(
        f"{API}/tickets/{ticket.reference}/shares",
        json={"users": users},
        headers=world.headers(who or world.requester),
    )


def invitation_token(address: str) -> str:
    [message] = OutboxMessage.select().where(
        (OutboxMessage.to_address == address) & (OutboxMessage.kind == "invite")
    )
    parsed = email.message_from_string(message.raw, policy=email.policy.default)
    text = next(p for p in parsed.walk() if p.get_content_type() == "text/plain")
    return re.search(r"/account/activate/([\w-]+)", text.get_content()).group(1)


def activate(client, address: str) -> dict:
    resp = client.post(
        f"{API}/account/activate",
        json={"token": invitation_token(address), "password": PASSWORD},
    )
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


@pytest.mark.parametrize("who", ["requester", "agent"])
def test_the_requester_or_an_agent_invites_an_unregistered_address(client, world, who):
    ticket = world.ticket()
    resp = share(client, world, ticket, [GUEST.upper()], getattr(world, who))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["added"], body["invited"]) == ([GUEST], [GUEST])
    assert GUEST in [u["email"] for u in body["shared_with"]]
    guest = User.get(User.email == GUEST)
    assert (guest.kind, guest.origin, guest.active) == ("customer", "external", True)
    assert Membership.select().where(Membership.user == guest).count() == 0
    invited = OutboxMessage.select().where(OutboxMessage.to_address == GUEST)
    assert {m.kind for m in invited} == {"invite", "shared"}


def test_the_invited_person_sees_that_one_ticket_only(client, world):
    shared = world.ticket(title="Export fails")
    other = world.ticket(title="Another Acme ticket")  # public to Acme's power users
    agent = world.headers(world.agent)
    note = client.post(
        f"{API}/tickets/{shared.reference}/comments", json={"body": "Log attached"}, headers=agent
    )
    assert note.status_code == 201
    upload = client.post(
        f"{API}/tickets/{shared.reference}/attachments",
        data={"attachments": [(io.BytesIO(b"trace"), "trace.log")]},
        content_type="multipart/form-data",
        headers=agent,
    )
    assert upload.status_code == 201
    assert share(client, world, shared, [GUEST]).status_code == 200
    guest = activate(client, GUEST)

    listed = client.get(f"{API}/tickets", headers=guest).get_json()
    assert [t["reference"] for t in listed["items"]] == [shared.reference]
    ref = shared.reference
    assert client.get(f"{API}/tickets/{ref}", headers=guest).status_code == 200
    comments = client.get(f"{API}/tickets/{ref}/comments", headers=guest).get_json()
    assert [c["body"] for c in comments["items"]] == ["Log attached"]
    with client.get(f"{API}/tickets/{ref}/attachments/trace.log", headers=guest) as download:
        assert (download.status_code, download.get_data()) == (200, b"trace")
    reply = client.post(f"{API}/tickets/{ref}/comments", json={"body": "Fixed?"}, headers=guest)
    assert reply.status_code == 201

    # Nothing else of the organization: its other tickets, its name as a filter, sharing on.
    for path in ("", "/comments", "/attachments/trace.log"):
        resp = client.get(f"{API}/tickets/{other.reference}{path}", headers=guest)
        assert resp.status_code == 404, path
    assert client.get(f"{API}/tickets?organization=Acme", headers=guest).status_code == 404
    reshare = share(client, world, shared, ["someone@outside.test"], User.get(User.email == GUEST))
    assert reshare.status_code == 403
    # Belonging to no organization, they cannot submit (until an admin adds them to one).
    submitted = client.post(
        f"{API}/tickets", json={"type": "question", "title": "Mine"}, headers=guest
    )
    assert submitted.status_code == 422
    assert "belongs to no organization" in submitted.get_json()["error"]["message"]


def test_a_power_user_may_not_invite_and_nothing_changes(client, world):
    ticket = world.ticket()
    resp = share(client, world, ticket, ["col@acme.test", GUEST], world.power)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["message"] == (
        f"{GUEST} is not a member of Acme: only the requester or an agent may invite them "
        "to this ticket."
    )
    assert User.select().where(User.email == GUEST).count() == 0
    assert Share.select().where(Share.ticket == ticket).count() == 1  # world's own share
    assert OutboxMessage.select().where(OutboxMessage.to_address == GUEST).count() == 0


def test_another_organizations_user_is_for_agents_only(client, world):
    ticket = world.ticket()
    refused = share(client, world, ticket, ["power@globex.test"])
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == (
        "power@globex.test belongs to another organization than Acme: "
        "only agents may share a ticket with them."
    )
    otto = world.headers(world.other_power)
    assert client.get(f"{API}/tickets/{ticket.reference}", headers=otto).status_code == 404

    allowed = share(client, world, ticket, ["power@globex.test"], world.agent)
    assert allowed.status_code == 200
    assert (allowed.get_json()["added"], allowed.get_json()["invited"]) == (
        ["power@globex.test"],
        [],
    )
    assert client.get(f"{API}/tickets/{ticket.reference}", headers=otto).status_code == 200


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("agent@example.test", "agent@example.test is an agent: agents see every ticket already."),
        ("not-an-address@", "'not-an-address@' is not an email address."),
    ],
)
def test_who_cannot_be_shared_with_is_said(client, world, user, message):
    ticket = world.ticket()
    resp = share(client, world, ticket, [user])
    assert resp.status_code == 422
    assert resp.get_json()["error"]["message"] == message


def test_a_deactivated_outsider_is_refused(client, world):
    world.other_power.active = False
    world.other_power.save()
    resp = share(client, world, world.ticket(), ["power@globex.test"], world.agent)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["message"] == "power@globex.test is deactivated."
