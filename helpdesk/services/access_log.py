"""Where a request came from, and the access log of account events."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.models import AccessLog, User


@dataclass(frozen=True)
class Client:
    """Where a request came from, for the access log and throttling."""

    address: str | None = None
    user_agent: str | None = None


NO_CLIENT = Client()


def log_access(user: User | None, event: str, outcome: str, client: Client, email=None) -> None:
    """One line of the access log (inside the caller's transaction, if any)."""
    AccessLog.create(
        user=user,
        email=(email or (user.email if user else None)),
        event=event,
        outcome=outcome,
        address=(client.address or "")[:64] or None,
        user_agent=(client.user_agent or "")[:255] or None,
    )
