"""Survey link tokens: issued by the closing notification, redeemed by the surveys service.

A layer below both, so that tickets → notifications → surveys → tickets is no import cycle.
"""

from __future__ import annotations

import hashlib
import secrets

from helpdesk.models import SurveyToken, Ticket


def survey_token_hash(raw: str) -> str:
    """What is stored of a survey token: its SHA-256, never the token itself."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_survey_token(ticket: Ticket) -> str:
    """A new single-use link token for the ticket's requester; only its hash is kept."""
    raw = "hds_" + secrets.token_urlsafe(32)
    SurveyToken.create(ticket=ticket, token_hash=survey_token_hash(raw))
    return raw
