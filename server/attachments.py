"""A stored attachment as an HTTP response: what the API and the portal both serve."""

from __future__ import annotations

from flask import Response, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import wrap_file

from helpdesk.models import Attachment
from helpdesk.storage import active_store


def send_attachment(attachment: Attachment) -> Response:
    """The file itself, streamed in chunks from the directory or the object storage, always as
    a download, never sniffed into something a browser runs; a part of it (206) for a Range
    request, 416 for a range outside it."""
    store = active_store()
    stored = store.open_attachment(attachment.sha256, attachment.filename)
    response = send_file(
        stored.stream,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        etag=attachment.sha256,
        last_modified=stored.modified,
        conditional=False,  # send_file knows no size of a stream: no ranges without it
    )
    response.content_length = stored.size
    try:
        response.make_conditional(request, accept_ranges=True, complete_length=stored.size)
    except RequestedRangeNotSatisfiable:
        stored.stream.close()
        raise
    if response.status_code == 206:
        # Werkzeug seeks a file to the part, and reads up to it otherwise: a store that can
        # read the part alone (S3: a ranged GET) sends just that.
        part = response.content_range
        alone = store.open_part(attachment.sha256, part.start, part.stop)
        if alone is not None:
            stored.stream.close()
            response.response = wrap_file(request.environ, alone)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
