"""Safe retries: a creating POST sent again with its Idempotency-Key creates nothing more."""

from __future__ import annotations

import io
import threading
import time

import pytest
from conftest import hold_write_lock, run_bounded
from test_error_shape import assert_error

from helpdesk.models import (
    ApiToken,
    Attachment,
    Comment,
    IdempotencyKey,
    Organization,
    Ticket,
    User,
)

API = "/api/v1"
TICKET = {"type": "incident", "title": "VPN drops every hour"}


def _key(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


def test_a_retried_submit_gets_the_first_answer_and_creates_nothing(client, world):
    headers = _key(world.headers(world.requester), "3f9c1a52-7c1e-4d0b-9a57-0c8a8e1e4b10")

    first = client.post(f"{API}/tickets", json=TICKET, headers=headers)
    again = client.post(f"{API}/tickets", json=TICKET, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Ticket.select().count() == 1


# Every creating POST: (path, JSON body or None for a multipart upload, the rows it creates).
CREATES = {
    "comment": ("/tickets/{ref}/comments", {"body": "Still dropping."}, Comment),
    "attachment": ("/tickets/{ref}/attachments", None, Attachment),
    "user": ("/users", {"email": "new@acme.test", "name": "Nina New", "invite": False}, User),
    "organization": ("/organizations", {"name": "Initech"}, Organization),
}


@pytest.mark.parametrize("kind", CREATES)
def test_every_create_is_answered_once_per_key(client, world, kind):
    path, body, model = CREATES[kind]
    path = API + path.format(ref=world.ticket().reference)
    headers = _key(world.headers(world.admin), f"key-{kind}")

    def send():
        if body is not None:
            return client.post(path, json=body, headers=headers)
        upload = {"attachments": [(io.BytesIO(b"%PDF-1.4 log"), "vpn.log", "text/plain")]}
        return client.post(path, data=upload, headers=headers)  # a new boundary each time

    first = send()
    rows = model.select().count()
    again = send()

    assert first.status_code == 201, first.get_data(as_text=True)
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert again.headers.get("Location") == first.headers.get("Location")
    assert model.select().count() == rows


def test_a_new_token_is_never_stored_and_its_retry_is_told_so(client, world):
    headers = _key(world.headers(world.agent), "token-1")
    first = client.post(f"{API}/tokens", json={"name": "ci"}, headers=headers)
    tokens = ApiToken.select().count()

    again = client.post(f"{API}/tokens", json={"name": "ci"}, headers=headers)

    assert first.status_code == 201
    assert "Revoke it" in assert_error(again, 409, "conflict")["message"]
    assert ApiToken.select().count() == tokens
    [stored] = IdempotencyKey.select()
    assert stored.body is None and first.get_json()["token"] not in stored.headers


def test_the_same_key_with_another_body_is_refused(client, world):
    headers = _key(world.headers(world.requester), "once")
    assert client.post(f"{API}/tickets", json=TICKET, headers=headers).status_code == 201

    other = client.post(f"{API}/tickets", json={**TICKET, "title": "Other"}, headers=headers)

    error = assert_error(other, 422, "idempotency_key_reused")
    assert "Idempotency-Key" in error["message"]
    assert Ticket.select().count() == 1


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "é"])
def test_a_malformed_key_is_refused(client, world, key):
    headers = world.headers(world.requester)
    headers["Idempotency-Key"] = key.encode().decode("latin-1")

    answer = client.post(f"{API}/tickets", json=TICKET, headers=headers)

    assert assert_error(answer, 422, "validation_failed")["details"]["field"] == "Idempotency-Key"
    assert Ticket.select().count() == 0


def test_a_key_belongs_to_its_caller(client, world):
    mine = client.post(
        f"{API}/tickets", json=TICKET, headers=_key(world.headers(world.requester), "k1")
    )
    theirs = client.post(
        f"{API}/tickets", json=TICKET, headers=_key(world.headers(world.colleague), "k1")
    )

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["reference"] != mine.get_json()["reference"]
    assert theirs.get_json()["requester"]["email"] == world.colleague.email
    assert Ticket.select().count() == 2


def test_a_refused_create_leaves_no_key_behind(client, world):
    headers = _key(world.headers(world.requester), "retry-me")
    refused = client.post(f"{API}/tickets", json={"type": "incident"}, headers=headers)
    assert_error(refused, 422, "validation_failed")

    fixed = client.post(f"{API}/tickets", json={"type": "incident"}, headers=headers)

    assert_error(fixed, 422, "validation_failed")  # run again, not replayed
    assert "Idempotent-Replayed" not in fixed.headers
    assert IdempotencyKey.select().count() == 0


def test_a_key_is_kept_for_a_day_then_forgotten_and_purged(client, world, clock):
    headers = _key(world.headers(world.requester), "daily")
    first = client.post(f"{API}/tickets", json=TICKET, headers=headers)

    clock.advance(hours=23, minutes=59)
    within = client.post(f"{API}/tickets", json=TICKET, headers=headers)
    clock.advance(minutes=2)
    after = client.post(f"{API}/tickets", json={**TICKET, "title": "New day"}, headers=headers)

    assert within.get_json()["reference"] == first.get_json()["reference"]
    assert after.status_code == 201 and "Idempotent-Replayed" not in after.headers
    assert Ticket.select().count() == 2
    clock.advance(hours=25)
    other = _key(world.headers(world.colleague), "purges")
    client.post(f"{API}/tickets", json=TICKET, headers=other)
    assert [row.key for row in IdempotencyKey.select()] == ["purges"]


def test_two_requests_at_once_with_one_key_create_one_ticket(app, world):
    headers = _key(world.headers(world.requester), "racing")
    answers = []
    started = threading.Barrier(3)

    def submit():
        started.wait()
        answer = app.test_client().post(f"{API}/tickets", json=TICKET, headers=headers)
        answers.append((answer.status_code, answer.get_json()["reference"]))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    with hold_write_lock():  # both requests wait for the database, then go at once
        for thread in threads:
            thread.start()
        started.wait()
        time.sleep(0.2)  # for both to reach the lock (a late one replays: the same check)
    run_bounded(lambda: [thread.join() for thread in threads], seconds=30)

    assert len(answers) == 2
    assert answers[0] == answers[1] and answers[0][0] == 201
    assert Ticket.select().count() == 1
