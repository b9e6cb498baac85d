"""Case-insensitive lookups by name stay right for non-ASCII letters without a Python lower()
registered on SQLite connections (both engines)."""

from __future__ import annotations

import pytest
from conftest import make_user

from helpdesk.errors import NotFound
from helpdesk.models import User
from helpdesk.services import tickets
from helpdesk.services.users import resolve_users


def test_names_with_accented_capitals_are_found_in_any_case(db):
    emile = make_user("emile@example.test", "Émile Zola", kind="agent")
    radek = make_user("radek@example.test", "ŘEHOŘ Dvořák", kind="agent")
    make_user("emilie@example.test", "Emilie Zola", kind="agent")  # ASCII E: another name
    users = User.select()
    assert resolve_users(["émile zola"], users) == [emile]
    assert resolve_users(["ÉMILE ZOLA", "řehoř dvořák"], users) == [emile, radek]
    with pytest.raises(NotFound):
        resolve_users(["emile zola"], users)  # é is not e: names are compared as written


def test_like_wildcards_in_a_name_are_literal(db):
    make_user("pct@example.test", "Ann 100% Sure", kind="agent")
    make_user("und@example.test", "Bob_Smith", kind="agent")
    users = User.select()
    with pytest.raises(NotFound):
        resolve_users(["ann 100x sure"], users)
    with pytest.raises(NotFound):
        resolve_users(["bob-smith"], users)
    assert [u.email for u in resolve_users(["ANN 100% SURE", "bob_smith"], users)] == [
        "pct@example.test",
        "und@example.test",
    ]


def test_assign_by_an_accented_name(world):
    agent = make_user("elodie@example.test", "Élodie Agent", kind="agent")
    ticket = world.ticket(title="Scanner")
    assigned = tickets.assign(ticket.reference, "élodie agent", actor=world.agent)
    assert assigned.assignee.email == agent.email
