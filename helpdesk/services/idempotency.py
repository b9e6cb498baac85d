"""Safe retries: a creating request sent again with its idempotency key gets the first answer.

The key's row is inserted first and the create runs in the same transaction, so both are
committed or neither is: a crash never leaves a ticket without its key (whose retry would
create a second one) nor a key without its ticket. Two requests with one key at once: the
second waits on the first one's row (PostgreSQL: the unique index; SQLite: the write lock),
then answers what the first one answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from peewee import IntegrityError

from helpdesk.db import database
from helpdesk.errors import Conflict, IdempotencyKeyReused, ValidationFailed
from helpdesk.i18n import N_
from helpdesk.models import IdempotencyKey, User, utcnow

# How long a retry gets the first answer; older keys are forgotten (and may be used again).
KEPT_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Visible ASCII: a UUID, a ULID, a hash or "ci-run-42/step-3" all fit; spaces and control
# characters, which headers mangle, do not.
KEY_FORMAT = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")
# Expired keys deleted by each new one: the table stays about a day of keys long, and no
# write pays for a backlog at once.
PURGE_BATCH = 100


@dataclass
class Answer:
    """What a create answered: replayed byte for byte to a retry."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # The body holds a secret shown once (a new API token): it is not stored, and a retry is
    # told so instead of getting it (the database keeps token hashes only).
    secret: bool = False


def check_key(key: str) -> str:
    """The key, or ValidationFailed naming the allowed format."""
    if not KEY_FORMAT.fullmatch(key):
        raise ValidationFailed(
            N_(
                "The Idempotency-Key header must be 1 to {max} visible ASCII characters "
                "(letters, digits, punctuation; no spaces)."
            ),
            {"field": "Idempotency-Key"},
            max=MAX_KEY_LENGTH,
        )
    return key


def run_once(
    actor: User, key: str, fingerprint: str, create: Callable[[], Answer]
) -> tuple[Answer, bool]:
    """`create()`'s answer, or the answer of the first request with this key (True).

    Keys are the actor's own: another user's key never answers. Raises IdempotencyKeyReused
    when the key came first with another request (`fingerprint` differs), Conflict when the
    first answer held a secret (not stored). A create that raises, or answers an error,
    leaves no key behind: its retry runs again.
    """
    check_key(key)
    with database.atomic():
        first = _claim(actor, key, fingerprint)
        if first is not None:
            if first.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    N_(
                        "This Idempotency-Key was first sent with another request: use a new "
                        "key for a new request."
                    ),
                    {"field": "Idempotency-Key"},
                )
            if first.body is None:
                raise Conflict(
                    N_(
                        "The request with this Idempotency-Key was done, and what it created "
                        "is shown only once. Revoke it and make another if its answer was lost."
                    ),
                    {"field": "Idempotency-Key"},
                )
            return Answer(first.status, bytes(first.body), json.loads(first.headers)), True
        answer = create()
        claim = IdempotencyKey.user == actor.id, IdempotencyKey.key == key
        if answer.status >= 400:
            IdempotencyKey.delete().where(*claim).execute()
        else:
            IdempotencyKey.update(
                status=answer.status,
                body=None if answer.secret else answer.body,
                headers=json.dumps(answer.headers),
            ).where(*claim).execute()
    return answer, False


def _claim(actor: User, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the key's row (None), or return the row another request committed with it."""
    now = utcnow()
    expired = IdempotencyKey.created_at < now - KEPT_FOR
    IdempotencyKey.delete().where(
        (IdempotencyKey.user == actor.id) & (IdempotencyKey.key == key) & expired
    ).execute()
    purge_expired(limit=PURGE_BATCH)
    try:
        with database.atomic():  # a savepoint: the transaction survives a lost race
            IdempotencyKey.create(user=actor.id, key=key, fingerprint=fingerprint, created_at=now)
        return None
    except IntegrityError:
        # PostgreSQL waited for the other request's transaction: its row is committed now.
        return IdempotencyKey.get((IdempotencyKey.user == actor.id) & (IdempotencyKey.key == key))


def purge_expired(*, limit: int | None = None) -> int:
    """Delete keys older than KEPT_FOR (at most `limit`, oldest first); how many went."""
    oldest = (
        IdempotencyKey.select(IdempotencyKey.id)
        .where(IdempotencyKey.created_at < utcnow() - KEPT_FOR)
        .order_by(IdempotencyKey.created_at)
        .limit(limit)
    )
    return IdempotencyKey.delete().where(IdempotencyKey.id.in_(oldest)).execute()
