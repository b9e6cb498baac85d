"""A stored attachment as an HTTP response: what the API and the portal both serve."""

from __future__ import annotations

from flask import Response, send_file

from helpdesk.models import Attachment
from helpdesk.storage import active_store


def send_attachment(attachment: Attachment) -> Response:
    """The file itself, streamed in chunks from the directory or the object storage, always as
    a download, never sniffed into something a browser runs."""
    stored = active_store().open_attachment(attachment.sha256, attachment.filename)
    response = send_file(
        stored.stream,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=attachment.sha256,
        last_modified=stored.modified,
    )
    if response.status_code == 200:  # send_file knows no size of a stream; a 304 has no body
        response.content_length = stored.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
