"""A stored attachment as an HTTP response: what the API and the portal both serve."""

from __future__ import annotations

from flask import Response, send_file

from helpdesk.models import Attachment
from helpdesk.storage import blob_store


def send_attachment(attachment: Attachment) -> Response:
    """The file itself, always as a download, never sniffed into something a browser runs."""
    response = send_file(
        blob_store.existing_path(attachment.sha256, attachment.filename),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=attachment.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
