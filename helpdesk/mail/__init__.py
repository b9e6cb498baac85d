"""Email: the outbox, notifications, delivery over SMTP, and email-to-ticket."""
