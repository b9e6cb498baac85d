"""Settings: read from the environment once, into one object that the services are given.

`load_settings()` is the only reader of the HELPDESK_* environment. `create_app` and the local
commands hand its result to `use_settings`; services ask `current_settings()`, never
`os.environ`, so one process works with one consistent set of settings.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlparse

import platformdirs

from helpdesk.vocabulary import TICKET_TYPES, TicketType

DEFAULT_MAX_ATTACHMENT_SIZE = 10 * 1024 * 1024
SMTP_SECURITY = ("none", "starttls", "ssl")
LOG_FORMATS = ("text", "json")
ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


def sqlite_file(url: str) -> Path | None:
    """The file a sqlite:/// URL names; None for another engine or an in-memory database."""
    parsed = urlparse(url)
    if parsed.scheme not in ("sqlite", "sqlite+pool"):
        return None
    path = url.split("://", 1)[1][1:].split("?", 1)[0]  # sqlite:///relative or ////absolute
    return Path(path) if path and path != ":memory:" else None


def _env(name: str, default: str | None = None) -> str | None:
    raw = os.environ.get(name, "").strip()
    return raw or default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return value


def _env_choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (_env(name) or default).lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str | None = None  # None: mail waits in the outbox
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout: int = 30
    sender: str = "Helpdesk <helpdesk@localhost>"
    base_url: str = "http://127.0.0.1:5000"
    # Who hears of an unassigned ticket: every agent ("all") or nobody ("none").
    notify_unassigned: str = "all"
    send_in_server: bool = False
    send_interval: int = 30
    max_attempts: int = 8
    backoff_seconds: int = 60
    ticket_type: str = "question"  # type of a ticket opened by email
    unknown_senders: str = "refuse"  # or "register": they become external customers
    external_organization: str = "External customers"
    max_message_size: int = 25 * 1024 * 1024

    @property
    def https(self) -> bool:
        """The public URL is https: cookies are sent over HTTPS only, browsers told to stay."""
        return self.base_url.startswith("https://")

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1] or "helpdesk@localhost"

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class AccountSettings:
    invitation_ttl_hours: int = 72
    reset_ttl_minutes: int = 60
    signup: str = "closed"  # closed, domains (signup_domains only) or open
    signup_domains: tuple[str, ...] = ()
    external_organization: str = "External customers"
    login_max_failures: int = 5  # per account
    address_max_failures: int = 20  # per client address (many users may share one)
    lockout_seconds: int = 900
    # Sign-up and reset requests email someone: capped per recipient and per client address.
    email_requests_per_recipient: int = 3
    email_requests_per_client: int = 10
    email_request_window_seconds: int = 3600


def _read_account_settings() -> AccountSettings:
    domains = tuple(
        d.strip().lower().lstrip("@")
        for d in (_env("HELPDESK_SIGNUP_DOMAINS") or "").split(",")
        if d.strip()
    )
    return AccountSettings(
        invitation_ttl_hours=_env_int("HELPDESK_INVITATION_TTL_HOURS", 72),
        reset_ttl_minutes=_env_int("HELPDESK_RESET_TTL_MINUTES", 60),
        signup=_env_choice("HELPDESK_SIGNUP", "closed", ("closed", "domains", "open")),
        signup_domains=domains,
        external_organization=_env(
            "HELPDESK_EXTERNAL_ORGANIZATION", AccountSettings.external_organization
        ),
        login_max_failures=_env_int("HELPDESK_LOGIN_MAX_FAILURES", 5),
        address_max_failures=_env_int("HELPDESK_LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
        lockout_seconds=_env_int("HELPDESK_LOGIN_LOCKOUT_SECONDS", 900),
        email_requests_per_recipient=_env_int("HELPDESK_ACCOUNT_EMAILS_PER_RECIPIENT", 3),
        email_requests_per_client=_env_int("HELPDESK_ACCOUNT_EMAILS_PER_CLIENT", 10),
        email_request_window_seconds=_env_int("HELPDESK_ACCOUNT_EMAILS_WINDOW_SECONDS", 3600),
    )


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    max_attachment_size: int = DEFAULT_MAX_ATTACHMENT_SIZE
    mail: MailSettings = field(default_factory=MailSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    attachment_dir: Path | None = None  # None: data_dir/attachments
    # s3://BUCKET[/PREFIX]: attachments in object storage (attachment_dir then stages them);
    # None: in attachment_dir.
    storage: str | None = None
    # Signs the portal's session cookies; None: one generated once and kept in data_dir.
    secret_key: str | None = None
    # The reverse proxies whose X-Forwarded-* headers are believed (none by default).
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    log_format: str = "text"  # the server's log lines: readable text or JSON lines
    # Check every API answer against its declared shape (the test suite; a cost per answer).
    check_answers: bool = False

    def __post_init__(self):
        if self.attachment_dir is None:
            object.__setattr__(self, "attachment_dir", self.data_dir / "attachments")


def _env_networks(name: str) -> tuple[ProxyNetwork, ...]:
    """Comma-separated addresses or CIDR ranges (a bare address is a range of one)."""
    networks = []
    for part in (_env(name) or "").split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"{name} must list IP addresses or CIDR ranges, not {part.strip()!r}"
                ) from None
    return tuple(networks)


def _env_storage(name: str) -> str | None:
    raw = _env(name)
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"{name} must be s3://BUCKET or s3://BUCKET/PREFIX, not {raw!r}")
    return raw.rstrip("/")


def _read_mail_settings() -> MailSettings:
    security = _env_choice("HELPDESK_SMTP_SECURITY", "none", SMTP_SECURITY)
    return MailSettings(
        smtp_host=_env("HELPDESK_SMTP_HOST"),
        smtp_port=_env_int("HELPDESK_SMTP_PORT", DEFAULT_SMTP_PORTS[security]),
        smtp_security=security,
        smtp_user=_env("HELPDESK_SMTP_USER"),
        smtp_password=_env("HELPDESK_SMTP_PASSWORD"),
        smtp_timeout=_env_int("HELPDESK_SMTP_TIMEOUT", 30),
        sender=_env("HELPDESK_MAIL_FROM", MailSettings.sender),
        base_url=(_env("HELPDESK_BASE_URL", MailSettings.base_url) or "").rstrip("/"),
        notify_unassigned=_env_choice("HELPDESK_NOTIFY_UNASSIGNED", "all", ("all", "none")),
        send_in_server=_env_bool("HELPDESK_MAIL_SEND_IN_SERVER", False),
        send_interval=_env_int("HELPDESK_MAIL_SEND_INTERVAL", 30),
        max_attempts=_env_int("HELPDESK_MAIL_MAX_ATTEMPTS", 8),
        backoff_seconds=_env_int("HELPDESK_MAIL_BACKOFF", 60),
        ticket_type=_env_choice(
            "HELPDESK_MAIL_TICKET_TYPE", TicketType.question.value, TICKET_TYPES
        ),
        unknown_senders=_env_choice(
            "HELPDESK_MAIL_UNKNOWN_SENDERS", "refuse", ("refuse", "register")
        ),
        external_organization=_env(
            "HELPDESK_MAIL_EXTERNAL_ORGANIZATION",
            _env("HELPDESK_EXTERNAL_ORGANIZATION", MailSettings.external_organization),
        ),
        max_message_size=_env_int("HELPDESK_MAIL_MAX_MESSAGE_SIZE", 25 * 1024 * 1024),
    )


def load_settings() -> Settings:
    """Read the HELPDESK_* environment (see the README's configuration table).

    Raises ValueError naming the variable when a value cannot be used."""
    explicit_data_dir = _env("HELPDESK_DATA_DIR")
    data_dir = Path(explicit_data_dir or platformdirs.user_data_dir("helpdesk")).expanduser()
    database_url = _env("HELPDESK_DATABASE") or f"sqlite:///{data_dir / 'helpdesk.db'}"
    database_file = sqlite_file(database_url)
    # Attachments belong with the rows that name them: beside a SQLite file kept elsewhere,
    # unless HELPDESK_DATA_DIR says where.
    attachment_home = (
        data_dir if explicit_data_dir or database_file is None else database_file.parent
    )
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        attachment_dir=attachment_home / "attachments",
        storage=_env_storage("HELPDESK_STORAGE"),
        max_attachment_size=_env_int("HELPDESK_MAX_ATTACHMENT_SIZE", DEFAULT_MAX_ATTACHMENT_SIZE),
        mail=_read_mail_settings(),
        accounts=_read_account_settings(),
        secret_key=_env("HELPDESK_SECRET_KEY"),
        trusted_proxies=_env_networks("HELPDESK_TRUSTED_PROXIES"),
        log_format=_env_choice("HELPDESK_LOG_FORMAT", "text", LOG_FORMATS),
        check_answers=_env_bool("HELPDESK_CHECK_ANSWERS", False),
    )


_in_use: Settings | None = None


def use_settings(settings: Settings | None) -> Settings | None:
    """Make `settings` the ones every service reads (create_app and the local commands do,
    once, at start); None forgets them, so that the next use reads the environment again."""
    global _in_use
    _in_use = settings
    return settings


def current_settings() -> Settings:
    """The settings in use; read from the environment at the first use if none were given."""
    return _in_use or use_settings(load_settings())


def program_environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment of an outside program we run (pg_dump): ours (PATH, locale, libpq's own
    PG* settings) with `extra` on top."""
    return {**os.environ, **extra}
