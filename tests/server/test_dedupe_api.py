"""Submitting with a dedupe key through the real HTTP API: one open ticket per requester and key,
even when two submits race."""

from __future__ import annotations

import threading

from conftest import ON_POSTGRES, SERVER_DATABASE, hold_write_lock, run_bounded

from helpdesk.models import Comment, Ticket

API = "/api/v1/tickets"


def submit(client, world, user=None, **fields):
    body = {"type": "incident", "title": "Nightly backup failed", **fields}
    return client.post(API, json=body, headers=world.headers(user or world.requester))


def test_a_second_submit_with_the_key_comments_on_the_open_ticket(client, world):
    first = submit(client, world, dedupe_key="backup-nightly", description="Night 1: disk full")
    assert first.status_code == 201
    assert first.get_json()["deduplicated"] is False
    again = submit(client, world, dedupe_key="backup-nightly", description="Night 2: disk full")
    assert again.status_code == 200
    body = again.get_json()
    assert body["deduplicated"] is True
    assert body["reference"] == first.get_json()["reference"]
    assert again.headers["Location"].endswith(f"/tickets/{body['reference']}")
    [comment] = body["comments"]
    assert comment["body"] == "Happened again.\n\nNight 2: disk full"
    assert comment["visibility"] == "public"
    assert comment["author"]["email"] == "req@acme.test"
    assert Ticket.select().count() == 1
    # The requester's colleagues see the comment too (it is public).
    shown = client.get(f"{API}/{body['reference']}", headers=world.headers(world.power))
    assert [c["body"] for c in shown.get_json()["comments"]] == [comment["body"]]


def test_other_keys_and_other_requesters_get_their_own_tickets(client, world):
    refs = {
        submit(client, world, dedupe_key="a").get_json()["reference"],
        submit(client, world, dedupe_key="b").get_json()["reference"],
        submit(client, world, world.colleague, dedupe_key="a").get_json()["reference"],
        submit(client, world).get_json()["reference"],  # no key: never deduplicated
        submit(client, world).get_json()["reference"],
    }
    assert len(refs) == 5


def test_after_the_ticket_is_closed_the_key_opens_a_new_one(client, world):
    first = submit(client, world, dedupe_key="backup").get_json()["reference"]
    closed = client.post(f"{API}/{first}/close", json={}, headers=world.headers(world.agent))
    assert closed.status_code == 200
    again = submit(client, world, dedupe_key="backup")
    assert again.status_code == 201
    assert again.get_json()["deduplicated"] is False
    assert again.get_json()["reference"] != first
    # And the new one is the open one now.
    third = submit(client, world, dedupe_key="backup")
    assert (third.status_code, third.get_json()["reference"]) == (
        200,
        again.get_json()["reference"],
    )


def test_a_resolved_ticket_is_still_open_for_the_key(client, world):
    first = submit(client, world, dedupe_key="k").get_json()["reference"]
    agent = world.headers(world.agent)
    for to in ("open", "resolved"):
        resp = client.post(f"{API}/{first}/transition", json={"to": to}, headers=agent)
        assert resp.status_code == 200, resp.get_json()
    again = submit(client, world, dedupe_key="k")
    assert (again.status_code, again.get_json()["reference"]) == (200, first)


def test_an_agent_submitting_for_a_customer_dedupes_on_the_customer(client, world):
    first = submit(client, world, world.agent, requester="req@acme.test", dedupe_key="k")
    again = submit(client, world, dedupe_key="k")  # the customer themselves
    assert again.get_json()["reference"] == first.get_json()["reference"]
    assert again.get_json()["deduplicated"] is True


def test_a_bad_key_is_422(client, world):
    for key in ("", "a\nb", "x" * 201, 42):
        resp = submit(client, world, dedupe_key=key)
        assert resp.status_code == 422, key
        assert resp.get_json()["error"]["details"]["field"] == "dedupe_key"
    assert Ticket.select().count() == 0


def _waiting_for_locks(count: int) -> bool:
    import psycopg2

    with psycopg2.connect(SERVER_DATABASE) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] >= count


def test_two_racing_submits_with_one_key_make_one_ticket(app, world):
    """Both submits start while another connection holds the write lock: on PostgreSQL both
    have looked for an open ticket with the key (and found none) before either inserts, so the
    unique index decides and the loser becomes a comment; on SQLite they queue for the lock."""
    headers = world.headers(world.requester)
    body = {"type": "incident", "title": "Nightly backup failed", "dedupe_key": "race"}
    answers: list = []

    def post():
        answers.append(app.test_client().post(API, json=body, headers=headers))

    threads = [threading.Thread(target=post, daemon=True) for _ in range(2)]
    with hold_write_lock():
        for thread in threads:
            thread.start()
        if ON_POSTGRES:
            # Bounded: both inserts are waiting on the lock (10 s at most).
            run_bounded(lambda: _poll(lambda: _waiting_for_locks(2)), seconds=10)
    for thread in threads:
        run_bounded(lambda t=thread: t.join(), seconds=30)
    assert sorted(a.status_code for a in answers) == [200, 201], [a.get_json() for a in answers]
    assert {a.get_json()["reference"] for a in answers} == {"HD-1"}
    assert Ticket.select().where(Ticket.dedupe_key == "race").count() == 1
    assert [c.body for c in Comment.select()] == ["Happened again."]


def _poll(done) -> None:
    while not done():  # bounded by run_bounded's timeout
        pass
