"""Finding an organization by the name people type: below both users and organizations, so
that registering a user into one and managing its members import no cycle."""

from __future__ import annotations

from peewee import fn

from helpdesk import validation
from helpdesk.errors import NotFound
from helpdesk.i18n import N_
from helpdesk.models import Organization


def find_organization(name: str) -> Organization | None:
    """The organization of that name, whatever its case; None if there is none."""
    return Organization.get_or_none(fn.LOWER(Organization.name) == name.strip().lower())


def get_organization(name: str) -> Organization:
    """The organization of that name, or NotFound."""
    name = validation.text("organization", name, max_length=200)
    org = find_organization(name)
    if org is None:
        raise NotFound(N_("No organization named {organization!r}."), organization=name)
    return org
