"""Users: finding, registering, listing, deactivating them.

The identity flows are beside this module: authentication, invitations, signup, password_reset,
profile; passwords, api_tokens and account_tokens are the pieces they share.
"""

from __future__ import annotations

import operator
from functools import reduce

from peewee import SQL, IntegrityError, NodeList, fn

from helpdesk import permissions, validation
from helpdesk.db import database
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.formats import LANGUAGES
from helpdesk.i18n import N_
from helpdesk.models import Membership, Organization, User, utcnow
from helpdesk.pagination import Page, paginate
from helpdesk.services.account_tokens import send_invitation
from helpdesk.services.api_tokens import revoke_all
from helpdesk.services.organization_names import find_organization, get_organization
from helpdesk.services.passwords import check_password_policy, hash_password
from helpdesk.vocabulary import MEMBERSHIP_ROLES, USER_KINDS, UserKind


def find_user_by_email(email: str) -> User | None:
    return User.get_or_none(User.email == email.strip().lower())


def get_user_by_email(email: str) -> User:
    email = validation.text("email", email, max_length=254)
    user = find_user_by_email(email)
    if user is None:
        raise NotFound(N_("No user with email {email}."), email=email)
    return user


def _new_user(email: str, name: str, kind: str, password: str | None, language: str) -> User:
    email = validation.email(email)
    name = validation.text("name", name, max_length=200, one_line=True)
    validation.choice("kind", kind, USER_KINDS)
    validation.choice("language", language, LANGUAGES)
    if find_user_by_email(email) is not None:
        raise Conflict(N_("A user with email {email} already exists."), email=email)
    password_hash = None
    if password is not None:
        password_hash = hash_password(check_password_policy(password, email))
    return User.create(
        email=email, name=name, kind=kind, password_hash=password_hash, language=language
    )


def bootstrap_admin(email: str, password: str, name: str | None = None) -> User:
    """Create the first admin of a new installation (no actor: nobody exists yet)."""
    with database.atomic():
        if permissions.holders("user.manage").exists():
            raise Conflict(
                N_("This help desk already has an admin; log in with 'helpdesk login'."),
                {"email": email},
            )
        return _new_user(email, name or email.split("@")[0], UserKind.admin.value, password, "en")


def register_user(
    email: str,
    name: str,
    *,
    actor: User,
    kind: str = UserKind.customer.value,
    password: str | None = None,
    organization: str | None = None,
    role: str = "user",
    language: str = "en",
    phone: str | None = None,
    can_manage_customers: bool = False,
    invite: bool = True,
) -> User:
    """Create a user, and for a customer the membership of an organization.

    Without a password, the user is emailed an invitation to choose one.
    """
    validation.choice("kind", kind, USER_KINDS)
    permissions.require(actor, permissions.manage_action(kind))
    validation.choice("role", role, MEMBERSHIP_ROLES)
    validation.boolean("can_manage_customers", can_manage_customers)
    if can_manage_customers and kind not in permissions.CUSTOMER_MANAGEMENT_SWITCH:
        raise ValidationFailed(
            N_("Only agents are given the customer-management permission."),
            {"field": "can_manage_customers"},
        )
    with database.atomic():
        user = _new_user(email, name, kind, password, language)
        user.phone = (
            validation.text("phone", phone, max_length=40, required=False, one_line=True) or None
        )
        user.can_manage_customers = can_manage_customers
        user.save()
        if password is None and invite:
            send_invitation(user, actor=actor)
        if organization is not None:
            if not permissions.can(user, "org.join"):
                raise ValidationFailed(
                    N_("Only customers belong to organizations."), {"field": "organization"}
                )
            Membership.create(user=user, organization=get_organization(organization), role=role)
    return user


def register_external_customer(
    email, name, *, organization: str | None, language: str = "en"
) -> User:
    """A customer who registered themselves (sign-up, or an email from an unknown sender).

    They join the external customers' organization `organization`, created on first use;
    with None, no organization (someone invited to the tickets shared with them only).
    Inside the caller's transaction; Conflict if the address already has an account.
    """
    email = validation.email(email)
    name = validation.text("name", name, max_length=200, one_line=True)
    validation.choice("language", language, LANGUAGES)
    if find_user_by_email(email) is not None:
        raise Conflict(N_("A user with email {email} already exists."), email=email)
    user = User.create(
        email=email,
        name=name,
        kind=UserKind.customer.value,
        origin="external",
        language=language,
    )
    if organization is None:
        return user
    org_name = organization.strip()[:200]  # from the settings, not from the visitor
    org = find_organization(org_name)
    if org is None:
        try:
            with database.atomic():  # a savepoint: a parallel registration may create it first
                org = Organization.create(name=org_name)
        except IntegrityError:
            org = find_organization(org_name)
    Membership.create(user=user, organization=org, role="user")
    return user


def require_manage(actor: User, user: User) -> None:
    """Customers are managed by admins and by agents with the permission; staff by admins."""
    permissions.require(actor, permissions.manage_action(user.kind))


def set_active(email, active: bool, *, actor: User) -> User:
    """Deactivate (tokens revoked, tickets kept) or reactivate an account."""
    validation.boolean("active", active)
    with database.atomic():
        user = get_user_by_email(email)
        require_manage(actor, user)
        if user.id == actor.id:
            raise Conflict(N_("You cannot deactivate yourself."))
        user.active = active
        user.updated_at = utcnow()
        user.save()
        if not active:
            revoke_all(user)
    return user


def list_users(*, actor: User, kind: str | None = None, page=1, per_page=25) -> Page:
    """A page of users by email, and how many there are."""
    permissions.require(actor, "user.list")
    query = User.select().order_by(User.email)
    if kind:
        query = query.where(User.kind == validation.choice("kind", kind, USER_KINDS))
    return paginate(query, page, per_page)


def get_user(user_id: int, *, actor: User) -> User:
    if actor.id != user_id:
        permissions.require(actor, "user.list")
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(N_("No user {id}."), id=user_id)
    return user


def memberships_of(user: User) -> list[Membership]:
    return list(
        Membership.select(Membership, Organization)
        .join(Organization)
        .where(Membership.user == user)
        .order_by(Organization.name)
    )


def resolve_user(identifier: str, candidates) -> User:
    """Find one user among `candidates` (a User query) by email, or by name if unambiguous."""
    identifier = validation.text("user", identifier, max_length=254)
    [user] = resolve_users([identifier], candidates)
    return user


def _name_like(lowered: str):
    """LOWER(name) LIKE a pattern that matches `lowered` whatever the case of its non-ASCII
    letters (each is a `_` wildcard); `%`, `_` and backslash are escaped."""
    pattern = "".join("_" if not c.isascii() else ("\\" + c if c in "%_\\" else c) for c in lowered)
    return NodeList((fn.LOWER(User.name), SQL("LIKE"), pattern, SQL("ESCAPE '\\'")))


def resolve_users(identifiers: list[str], candidates) -> list[User]:
    """Each identifier's user among `candidates` (a User query): by email, or by name if
    unambiguous; two queries whatever the number. The first identifier that names nobody is
    NotFound; one that names several is refused with their emails."""
    emails = [i.lower() for i in identifiers if "@" in i]
    names = [i.lower() for i in identifiers if "@" not in i]
    by_email = {}
    if emails:
        by_email = {u.email: u for u in candidates.clone().where(User.email.in_(emails))}
    by_name: dict[str, list[User]] = {}
    if names:
        # SQLite's LOWER() folds ASCII only: the database narrows by the ASCII letters (any
        # other character matches any one), Python compares the few candidates exactly.
        like = reduce(operator.or_, (_name_like(name) for name in dict.fromkeys(names)))
        for user in candidates.clone().where(like):
            if user.name.lower() in names:
                by_name.setdefault(user.name.lower(), []).append(user)
    found = []
    for identifier in identifiers:
        if "@" in identifier:
            user = by_email.get(identifier.lower())
            if user is None:
                raise NotFound(N_("No user with email {user}."), user=identifier)
            found.append(user)
            continue
        matches = by_name.get(identifier.lower(), [])
        if not matches:
            raise NotFound(N_("No user named {user!r}."), user=identifier)
        if len(matches) > 1:
            emails_of = sorted(u.email for u in matches)
            raise ValidationFailed(
                N_("{count} users are named {user!r}: {candidates}. Name one by email."),
                count=len(matches),
                user=identifier,
                candidates=emails_of,
            )
        found.append(matches[0])
    return found
