"""Bulk provisioning: import customers and their memberships from rows, export the same rows.

An import is all or nothing: every row is checked first, and one invalid row means nothing is
written (unless the caller asks to skip invalid rows). Importing the same rows again changes
nothing. A column left out of a row (its key absent or None) leaves an existing customer's
value alone; a blank value means the default (role user, language en, no phone).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from helpdesk import permissions, validation
from helpdesk.db import database
from helpdesk.errors import ValidationFailed
from helpdesk.formats import LANGUAGES
from helpdesk.i18n import N_
from helpdesk.models import Membership, Organization, User, utcnow
from helpdesk.services import users
from helpdesk.services.organization_names import find_organization
from helpdesk.vocabulary import MEMBERSHIP_ROLES

COLUMNS = ("email", "name", "organization", "role", "language", "phone")
MAX_IMPORT_ROWS = 5000
# Kept well under the smallest SQLite limit on variables in one statement.
_CHUNK = 500
# What a new customer gets for a column their rows leave out.
_NEW_PROFILE = {"language": "en", "phone": None}


@dataclass
class _Row:
    """One checked row: the values it gives (absent keys are left out of `profile`)."""

    line: int
    email: str
    profile: dict[str, Any]
    organization: Organization | None
    role: str | None


@dataclass
class _Customer:
    """What a customer looks like now, or will look like once the rows so far are applied."""

    user: User | None
    profile: dict[str, Any]
    roles: dict[int, str] = field(default_factory=dict)  # organization id -> role


def _given(row: dict, key: str) -> bool:
    return row.get(key) is not None


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _check_shape(rows: Any) -> list[dict]:
    if not isinstance(rows, list):
        raise ValidationFailed(N_("rows must be a list of objects."), {"field": "rows"})
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationFailed(
            N_("Too many rows ({count}); send at most {max} per request."),
            {"field": "rows"},
            count=len(rows),
            max=MAX_IMPORT_ROWS,
        )
    allowed = {"line", *COLUMNS}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationFailed(
                N_("Row {row} is not an object."), {"field": "rows", "index": index}, row=index + 1
            )
        unknown = sorted(set(row) - allowed)
        if unknown:
            if len(unknown) == 1:
                template = N_("Row {row} has an unknown field: {unknown}.")
            else:
                template = N_("Row {row} has unknown fields: {unknown}.")
            raise ValidationFailed(
                template,
                {"field": "rows", "index": index, "allowed": sorted(allowed)},
                row=index + 1,
                unknown=unknown,
            )
        line = row.get("line", index + 1)
        if isinstance(line, bool) or not isinstance(line, int) or line < 1:
            raise ValidationFailed(
                N_("Row {row}: line must be a positive whole number."),
                {"field": "rows", "index": index},
                row=index + 1,
            )
    return rows


def _check_fields(row: dict, organizations: dict[str, Organization | None]):
    """Check one row on its own: (the checked row or None, [messages])."""
    errors: list[str] = []

    def check(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            errors.append(exc.message)
            return None

    email = check(validation.email, row.get("email"))
    profile: dict[str, Any] = {}
    name = check(validation.text, "name", row.get("name"), max_length=200, one_line=True)
    if name is not None:
        profile["name"] = name
    if _given(row, "language"):
        language = check(
            validation.choice, "language", _stripped(row["language"]) or "en", LANGUAGES
        )
        if language is not None:
            profile["language"] = language
    if _given(row, "phone"):
        phone = check(
            validation.text, "phone", row["phone"], max_length=40, required=False, one_line=True
        )
        if phone is not None:
            profile["phone"] = phone or None
    role = None
    if _given(row, "role"):
        role = check(validation.choice, "role", _stripped(row["role"]) or "user", MEMBERSHIP_ROLES)
    organization = None
    org_name = check(
        validation.text, "organization", row.get("organization"), max_length=200, required=False
    )
    if org_name:
        key = org_name.lower()
        if key not in organizations:
            organizations[key] = find_organization(org_name)
        organization = organizations[key]
        if organization is None:
            errors.append(f"No organization named {org_name!r}.")
    if errors:
        return None, errors
    return _Row(row.get("line"), email, profile, organization, role), []


def _existing_users(emails: set[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    ordered = sorted(emails)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for user in User.select().where(User.email.in_(chunk)):
            found[user.email] = user
    return found


def _existing_roles(user_ids: list[int]) -> dict[int, dict[int, str]]:
    roles: dict[int, dict[int, str]] = {}
    for start in range(0, len(user_ids), _CHUNK):
        chunk = user_ids[start : start + _CHUNK]
        query = Membership.select(Membership.user, Membership.organization, Membership.role).where(
            Membership.user.in_(chunk)
        )
        for membership in query:
            roles.setdefault(membership.user_id, {})[membership.organization_id] = membership.role
    return roles


def _row_error(row: dict, messages: list[str]) -> dict:
    email = row.get("email")
    return {
        "line": row.get("line"),
        "email": email.strip() if isinstance(email, str) else "",
        "errors": messages,
    }


def _validate(rows: list[dict]) -> tuple[list[_Row], list[dict], dict[str, User]]:
    """Every row checked: (valid rows in order, errors by line, existing users by email)."""
    organizations: dict[str, Organization | None] = {}
    checked = [(row, *_check_fields(row, organizations)) for row in rows]
    existing = _existing_users({r.email for _, r, _ in checked if r is not None})
    valid: list[_Row] = []
    errors: list[dict] = []
    # email -> column -> (value, the line that gave it first)
    given: dict[str, dict[str, tuple[Any, int]]] = {}
    seen_pairs: dict[tuple[str, int | None], int] = {}
    for raw, row, messages in checked:
        if row is not None:
            user = existing.get(row.email)
            # The import acts as a customer manager: it touches no account that action
            # does not govern.
            if user is not None and permissions.manage_action(user.kind) != "customer.manage":
                messages.append(f"{row.email} is an {user.kind}; only customers can be imported.")
            pair = (row.email, row.organization.id if row.organization else None)
            if pair in seen_pairs:
                where = (
                    f"in {row.organization.name}" if row.organization else "without organization"
                )
                messages.append(f"{row.email} {where} duplicates line {seen_pairs[pair]}.")
            earlier = given.get(row.email, {})
            for name, value in row.profile.items():
                if name in earlier and earlier[name][0] != value:
                    before, line = earlier[name]
                    messages.append(f"{name} {value!r} conflicts with line {line} ({before!r}).")
        if messages:
            errors.append(_row_error(raw, messages))
            continue
        valid.append(row)
        seen_pairs[pair] = row.line
        for name, value in row.profile.items():
            given.setdefault(row.email, {}).setdefault(name, (value, row.line))
    return valid, errors, existing


def _plan(valid: list[_Row], existing: dict[str, User]):
    """Apply the rows to a picture of the customers; count each row; say what to write."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    users_now = list(existing.values())
    roles = _existing_roles([u.id for u in users_now])
    customers: dict[str, _Customer] = {}
    for user in users_now:
        profile = {"name": user.name, "language": user.language, "phone": user.phone}
        customers[user.email] = _Customer(user, profile, dict(roles.get(user.id, {})))
    new: dict[str, _Customer] = {}
    changed_profiles: set[str] = set()
    changed_roles: dict[tuple[str, int], str] = {}
    for row in valid:
        customer = customers.get(row.email)
        if customer is None:
            profile = {**_NEW_PROFILE, **row.profile}
            customer = customers[row.email] = new[row.email] = _Customer(None, profile)
        changed = False
        for name, value in row.profile.items():
            if customer.profile[name] != value:
                customer.profile[name] = value
                changed_profiles.add(row.email)
                changed = True
        if row.organization is not None:
            org_id = row.organization.id
            current = customer.roles.get(org_id)
            wanted = row.role or current or "user"
            if current != wanted:
                customer.roles[org_id] = wanted
                changed_roles[(row.email, org_id)] = wanted
                changed = True
        if row.email in new:
            counts["created"] += 1
        else:
            counts["updated" if changed else "unchanged"] += 1
    return counts, customers, new, changed_profiles, changed_roles


def _write(actor: User, invite: bool, customers, new, changed_profiles, changed_roles) -> None:
    now = utcnow()
    for email, customer in new.items():
        customer.user = users.register_user(
            email,
            customer.profile["name"],
            actor=actor,
            language=customer.profile["language"],
            phone=customer.profile["phone"],
            invite=invite,
        )
    for email in changed_profiles - set(new):
        customer = customers[email]
        User.update(**customer.profile, updated_at=now).where(User.id == customer.user.id).execute()
    for (email, org_id), role in changed_roles.items():
        user = customers[email].user
        updated = (
            Membership.update(role=role)
            .where((Membership.user == user) & (Membership.organization == org_id))
            .execute()
        )
        if not updated:
            Membership.create(user=user, organization=org_id, role=role)


def import_customers(
    rows: list[dict],
    *,
    actor: User,
    dry_run: bool = False,
    skip_invalid: bool = False,
    invite: bool = True,
) -> dict:
    """Create or update customers and their memberships from rows; count what each row did.

    Raises ValidationFailed with details {"rows": [{line, email, errors}]} when a row is
    invalid and `skip_invalid` is false; then nothing is written.
    """
    permissions.require(actor, "customer.manage")
    validation.boolean("dry_run", dry_run)
    validation.boolean("skip_invalid", skip_invalid)
    validation.boolean("invite", invite)
    rows = [
        {**row, "line": row.get("line", index + 1)} for index, row in enumerate(_check_shape(rows))
    ]
    # A dry run writes nothing, so it need not hold SQLite's write lock.
    with contextlib.nullcontext() if dry_run else database.atomic():
        valid, errors, existing = _validate(rows)
        if errors and not skip_invalid:
            bad = len(errors)
            if len(rows) == 1:
                template = N_("{invalid} of {total} row is invalid; nothing was imported.")
            elif bad == 1:
                template = N_("{invalid} of {total} rows is invalid; nothing was imported.")
            else:
                template = N_("{invalid} of {total} rows are invalid; nothing was imported.")
            raise ValidationFailed(template, {"rows": errors}, invalid=bad, total=len(rows))
        counts, customers, new, changed_profiles, changed_roles = _plan(valid, existing)
        if not dry_run:
            _write(actor, invite, customers, new, changed_profiles, changed_roles)
    return {**counts, "invalid": len(errors), "errors": errors, "dry_run": dry_run}


def export_customers(*, actor: User) -> list[dict]:
    """Every customer as import rows: one per membership (or one without an organization)."""
    permissions.require(actor, "customer.manage")
    customers = list(User.select().where(User.kind == "customer"))
    roles: dict[int, list[tuple[str, str]]] = {}
    query = (
        Membership.select(Membership.user, Membership.role, Organization.name)
        .join(Organization)
        .join_from(Membership, User)
        .where(User.kind == "customer")
    )
    for membership in query:
        roles.setdefault(membership.user_id, []).append(
            (membership.organization.name, membership.role)
        )
    rows = []
    for user in customers:
        common = {
            "email": user.email,
            "name": user.name,
            "language": user.language,
            "phone": user.phone or "",
        }
        for org, role in roles.get(user.id, [("", "")]):
            rows.append({**common, "organization": org, "role": role})
    rows.sort(key=lambda r: (r["email"], r["organization"]))
    return [{column: row[column] for column in COLUMNS} for row in rows]
