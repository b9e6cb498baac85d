"""Time `ingest_message` on hostile mail shapes (a one-off benchmark, not a test).

    python scripts/bench_mail_ingest.py [--size BYTES] [SHAPE ...]

Each shape is built about --size bytes large (default: the 25 MiB message limit) and ingested
twice into a throw-away database: from a known customer and from an unknown sender. Prints
seconds per ingestion and the outcome.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

LIMIT = 25 * 1024 * 1024


def html_message(body: str) -> bytes:
    return b"Content-Type: text/html; charset=utf-8\r\n\r\n" + body.encode()


def plain_message(body: bytes) -> bytes:
    return b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body


def shapes(size: int) -> dict[str, bytes]:
    n = size - 1024
    part = b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return {
        "html '<a' runs": html_message("<a" * (n // 2)),
        "html '</' runs": html_message("</" * (n // 2)),
        "html '<?' runs": html_message("<?" * (n // 2)),
        "html nested <div>": html_message("<div>" * (n // 5) + "Help"),
        "html nested <blockquote>": html_message("<blockquote>x" * (n // 13)),
        "html distinct attributes": html_message(
            "<a " + " ".join(f"a{i}=1" for i in range(n // 12)) + ">Help"
        ),
        "html <b id=n> runs": html_message("".join(f"<b id={i}>" for i in range(n // 14))),
        "html <br> runs": html_message("<br>" * (n // 4)),
        "plain newlines": plain_message(b"\n" * n),
        "plain one line": plain_message(b"x" * n),
        "plain '> ' quotes": plain_message(b"> quoted\n" * (n // 9)),
        "multipart tiny parts": b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        + part * (n // len(part))
        + b"--B--\r\n",
        "multipart 600-byte parts": b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        + (part + b"x" * 560 + b"\r\n") * (n // (len(part) + 562))
        + b"--B--\r\n",
        "base64 attachment (legit)": b"Content-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe log is attached.\r\n"
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment;"
        b' filename="log.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + (b"QUJD" * 19 + b"\r\n") * (n // 78)
        + b"--B--\r\n",
        "huge Subject": None,
        "60 KB Subject": b"Subject: " + b"x " * 30000 + b"\r\n\r\nHelp\r\n",
    }


def message(sender: str, number: int, shape: bytes | None, size: int) -> bytes:
    subject = "" if shape is not None else "Subject: " + "x " * ((size - 1024) // 2) + "\r\n"
    if shape is not None and not shape.startswith(b"Subject"):
        subject = "Subject: Help\r\n"
    head = (
        f"From: {sender}\r\nTo: helpdesk@localhost\r\n{subject}"
        f"Message-ID: <bench-{number}@example.test>\r\nMIME-Version: 1.0\r\n"
    ).encode()
    return head + (shape if shape is not None else b"\r\nHelp\r\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=LIMIT)
    parser.add_argument("shape", nargs="*")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="bench-ingest-")
    os.environ["HELPDESK_DATA_DIR"] = data
    os.environ["HELPDESK_CONFIG"] = os.path.join(data, "config.json")
    os.environ.pop("HELPDESK_DATABASE", None)

    from helpdesk.config import load_settings
    from helpdesk.db import database, init_database
    from helpdesk.mail.ingest import ingest_message
    from helpdesk.migrations import create_schema
    from helpdesk.models import Membership, Organization, User
    from helpdesk.storage import configure_storage

    settings = load_settings()
    init_database(settings.database_url)
    create_schema()
    configure_storage(settings.attachment_dir, settings.max_attachment_size, settings.storage)
    number = 0
    with database.connection_context():
        acme = Organization.create(name="Acme")
        rita = User.create(email="req@acme.test", name="Rita", kind="customer")
        Membership.create(user=rita, organization=acme, role="user")
        for name, shape in shapes(args.size).items():
            if args.shape and not any(s in name for s in args.shape):
                continue
            for sender in ("req@acme.test", "stranger@elsewhere.test"):
                number += 1
                raw = message(sender, number, shape, args.size)
                started = time.perf_counter()
                result = ingest_message(raw, settings)
                seconds = time.perf_counter() - started
                print(
                    f"{name:28s} {len(raw) / 2**20:6.2f} MiB {sender:24s} {seconds:7.3f} s  "
                    f"{result.outcome} {result.reason or ''}"[:140],
                    flush=True,
                )


if __name__ == "__main__":
    main()
