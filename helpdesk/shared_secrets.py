"""Secrets that every server on one database must agree on, kept in that database.

Several servers behind one load balancer sign the portal's session cookies: a cookie signed by
one must be read by the next. No server may make up its own key, nor keep it in a file of its
own machine; the first one to need a key writes it, the others read that one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from peewee import IntegrityError, OperationalError

from helpdesk.db import database
from helpdesk.models import SharedSecret


def new_secret() -> str:
    return secrets.token_hex(32)


def shared_secret(name: str, *, first: Callable[[], str] = new_secret) -> str | None:
    """The secret kept under `name`, written once with `first()` when there is none yet.

    Of two servers starting at once, the first insert wins (the name is unique) and both read
    its value. None when the database cannot be written (read-only) and holds no such secret.
    """
    with database.connection_context():
        kept = SharedSecret.get_or_none(SharedSecret.name == name)
        if kept is not None:
            return kept.value
        try:
            with database.atomic():
                SharedSecret.create(name=name, value=first())
        except IntegrityError:  # another server's, committed first
            pass
        except OperationalError:  # a read-only database
            return None
        return SharedSecret.get(SharedSecret.name == name).value
