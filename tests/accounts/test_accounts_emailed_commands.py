"""The command an account email shows works when pasted as it is, whatever the token."""

from __future__ import annotations

import email
import email.policy
import re
import shlex

from account_helpers import ADMIN, connection, ok, text_of, twice

from helpdesk.models import OutboxMessage, User
from helpdesk.services import invitations, password_reset, profile

NINA = "nina@acme.test"
# A token beginning with "-" would be read as an option. Random URL-safe tokens begin with "-"
# once in 64; asking for fresh emails is cheap (no SMTP, no password hash), and 150 rounds of
# three emails would miss such a token about once in a thousand runs.
ROUNDS = 150

# kind: how to ask for another email of that kind, the command it shows, its other arguments.
KINDS = {
    "invite": (
        lambda nina, admin: invitations.resend_invitation(NINA, actor=admin),
        "activate",
        ("--password-stdin",),
    ),
    "email_change": (
        lambda nina, admin: profile.update_profile(nina, email="nina.new@acme.test"),
        "confirm-email",
        (),
    ),
    "reset": (
        lambda nina, admin: password_reset.request_password_reset(NINA),
        "reset",
        ("--password-stdin",),
    ),
}


def latest_command(kind: str) -> str:
    """The `helpdesk account ...` line of the newest queued email of this kind."""
    message = (
        OutboxMessage.select()
        .where(OutboxMessage.kind == kind)
        .order_by(OutboxMessage.id.desc())
        .first()
    )
    text = text_of(email.message_from_string(message.raw, policy=email.policy.default))
    [command] = re.findall(r"^helpdesk account .*$", text, flags=re.MULTILINE)
    return command


def test_every_emailed_command_works_as_written(installed, monkeypatch):
    # Many reset requests for one address: lift the throttle that would refuse them.
    monkeypatch.setenv("HELPDESK_ACCOUNT_EMAILS_PER_RECIPIENT", str(ROUNDS + 1))
    ok(installed("user", "register", NINA, "--name", "Nina Newcomer"))
    commands: dict[str, str] = {}
    with connection():
        nina, admin = User.get(User.email == NINA), User.get(User.email == ADMIN)
        for _ in range(ROUNDS):
            for kind, (ask, _, _) in KINDS.items():
                ask(nina, admin)
                commands[kind] = latest_command(kind)
            if any(command.split()[3].startswith("-") for command in commands.values()):
                break

    # The newest email of each kind, its command run exactly as shown, in this order: the
    # invitation activates the account, then the address change; the reset comes last, since
    # a reset voids every link sent before it.
    for kind, (_, verb, extra) in KINDS.items():
        words = shlex.split(commands[kind])
        assert words[:3] == ["helpdesk", "account", verb]
        result = installed(*words[1:], *extra, input=twice("nina-password-42"))
        assert result.exit_code == 0, (commands[kind], result.stderr)
    result = installed(
        "login", "nina.new@acme.test", "--password-stdin", input="nina-password-42\n"
    )
    assert ok(result).stdout.startswith("Logged in as Nina Newcomer <nina.new@acme.test>")
