"""Delivering the outbox over SMTP: claim, send, mark; retry with backoff; never twice.

Two kinds of failure. A message's own (a recipient or the message refused, a 4xx during its
transaction) counts against that message: it is retried with growing backoff, and a 5xx or
the last attempt fails it. The server's (unreachable, 554 at connect, 535 at login, our sender
address refused) is no message's fault: the round stops, every message it would have sent
stays pending with its attempts unchanged, and the round backs off (doubling each time the
server refuses again, up to MAX_BACKOFF).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helpdesk.config import MailSettings
from helpdesk.db import database
from helpdesk.errors import HelpdeskError
from helpdesk.models import OutboxMessage, utcnow

log = logging.getLogger("helpdesk.mail.sender")

# A message left "sending" this long was being sent by a process that died: try it again.
STALE_CLAIM = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)
    server_error: str | None = None  # the server refused us: nothing more was tried
    retry_at: datetime | None = None  # when the round that the server refused is tried again

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "pending": self.pending,
        }


class DeliveryRefused(HelpdeskError):
    """The SMTP server refused the connection, the login or our sender: nothing was sent."""

    code = "smtp_refused"
    http_status = 503


def describe(exc: Exception) -> str:
    """An SMTP failure as one line: the server's code and text, else the exception."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {' '.join(text.split())}"
    return f"{type(exc).__name__}: {exc}"


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An open, authenticated SMTP connection as the settings describe."""
    context = ssl.create_default_context()
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        _drop(smtp)  # a refused login leaves no open socket behind
        raise
    return smtp


def wire_bytes(raw: str) -> bytes:
    """SMTP wants CRLF line ends; smtplib leaves bytes as they are."""
    return raw.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _claim(message: OutboxMessage) -> bool:
    """Take a message for sending; False if another sender was quicker."""
    now = utcnow()
    with database.atomic():
        claimed = (
            OutboxMessage.update(status="sending", claimed_at=now)
            .where(
                (OutboxMessage.id == message.id)
                & (
                    (OutboxMessage.status == "pending")
                    | (
                        (OutboxMessage.status == "sending")
                        & (OutboxMessage.claimed_at < now - STALE_CLAIM)
                    )
                )
            )
            .execute()
        )
    return claimed == 1


def _backoff(settings: MailSettings, attempts: int) -> timedelta:
    # Cap before multiplying: 2**attempts alone would overflow timedelta after ~40 tries.
    seconds = settings.backoff_seconds * 2 ** min(attempts - 1, 30)
    return min(timedelta(seconds=min(seconds, MAX_BACKOFF.total_seconds())), MAX_BACKOFF)


def _record_failure(
    message: OutboxMessage,
    error: str,
    permanent: bool,
    settings: MailSettings,
    report: DeliveryReport,
) -> None:
    attempts = message.attempts + 1
    gives_up = permanent or attempts >= settings.max_attempts
    with database.atomic():
        OutboxMessage.update(
            status="failed" if gives_up else "pending",
            attempts=attempts,
            last_error=error[:2000],
            next_attempt_at=utcnow() + _backoff(settings, attempts),
        ).where(OutboxMessage.id == message.id).execute()
    report.errors.append(f"{message.to_address}: {error}")
    if gives_up:
        report.failed += 1
        log.error("mail to %s failed for good: %s", message.to_address, error)
    else:
        report.retrying += 1
        log.warning(
            "mail to %s failed (attempt %d), will retry: %s", message.to_address, attempts, error
        )


def _server_failed(
    message: OutboxMessage,
    batch: list[OutboxMessage],
    error: str,
    settings: MailSettings,
    report: DeliveryReport,
) -> None:
    """The server refused us: the round's messages wait, attempts unchanged, with backoff.

    The wait doubles the last one (a pending message keeps claimed_at, the time it was last
    taken up, so the last wait is next_attempt_at - claimed_at), from backoff_seconds up to
    MAX_BACKOFF.
    """
    now = utcnow()
    base = timedelta(seconds=settings.backoff_seconds)
    last_wait = None
    if message.last_error and message.claimed_at and message.next_attempt_at:
        last_wait = message.next_attempt_at - message.claimed_at
    wait = min(max(2 * last_wait, base) if last_wait else base, MAX_BACKOFF)
    ids = [m.id for m in batch]
    with database.atomic():
        waiting = (
            OutboxMessage.update(
                status="pending",
                next_attempt_at=now + wait,
                last_error=error[:2000],
                claimed_at=now,
            )
            .where(
                OutboxMessage.id.in_(ids)
                & (
                    (OutboxMessage.id == message.id)
                    | ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now))
                )
            )
            .execute()
        )
    report.server_error = f"{settings.smtp_host}:{settings.smtp_port}: {error}"
    report.retry_at = now + wait
    report.retrying += waiting
    report.errors.append(report.server_error)
    # The caller says it (mail send's Error line, the server's background sender's warning).
    log.info(
        "the SMTP server %s refused us (%s); %d messages wait until %s",
        f"{settings.smtp_host}:{settings.smtp_port}",
        error,
        waiting,
        report.retry_at.isoformat(timespec="seconds"),
    )


def due_messages(limit: int):
    now = utcnow()
    return list(
        OutboxMessage.select()
        .where(
            ((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now))
            | ((OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - STALE_CLAIM))
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )


def deliver_pending(settings: MailSettings, *, limit: int = 500) -> DeliveryReport:
    """Send what is due, one SMTP connection for the batch. Needs an open database connection."""
    report = DeliveryReport()
    if not settings.smtp_host:
        report.pending = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
        return report
    smtp = None
    try:
        batch = due_messages(limit)
        for message in batch:
            if not _claim(message):
                continue
            if smtp is None:
                try:
                    smtp = connect(settings)
                except (OSError, smtplib.SMTPException) as exc:
                    _server_failed(message, batch, describe(exc), settings, report)
                    break
            raw = message.raw  # rendered here, outside the write that queued it
            try:
                smtp.sendmail(settings.sender_address, [message.to_address], wire_bytes(raw))
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                _record_failure(
                    message,
                    f"recipient refused: {exc.recipients}",
                    all(c >= 500 for c in codes),
                    settings,
                    report,
                )
                continue
            except smtplib.SMTPSenderRefused as exc:
                # Our own address is refused: every message would be; none is at fault.
                _server_failed(message, batch, f"sender refused: {describe(exc)}", settings, report)
                smtp = _drop(smtp)
                break
            except smtplib.SMTPResponseException as exc:
                _record_failure(message, describe(exc), exc.smtp_code >= 500, settings, report)
                smtp = _drop(smtp)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                _record_failure(message, describe(exc), False, settings, report)
                smtp = _drop(smtp)
                continue
            with database.atomic():
                OutboxMessage.update(
                    status="sent",
                    # What was sent is kept as sent, as the outbox always has.
                    rendered=raw,
                    letter=None,
                    sent_at=utcnow(),
                    attempts=message.attempts + 1,
                    last_error=None,
                ).where(OutboxMessage.id == message.id).execute()
            report.sent += 1
    finally:
        _drop(smtp)
    report.pending = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
    return report


def _drop(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return None


class BackgroundSender(threading.Thread):
    """Delivers the outbox every `interval` seconds inside `helpdesk serve`."""

    def __init__(self, settings: MailSettings):
        super().__init__(name="helpdesk-mail", daemon=True)
        self.settings = settings
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with database.connection_context():
                    report = deliver_pending(self.settings)
                if report.server_error:
                    log.warning(
                        "the SMTP server refused us (%s); the outbox waits until %s",
                        report.server_error,
                        report.retry_at.isoformat(timespec="seconds"),
                    )
            except Exception:  # keep the thread alive; the next round tries again
                log.exception("mail delivery round failed")
            self.stopping.wait(self.settings.send_interval)

    def stop(self) -> None:
        self.stopping.set()
