"""The `Idempotency-Key` header on the API's creating POSTs (helpdesk/services/idempotency.py).

A client that got no answer (a reset connection, a 503) sends the same request again with
the same key: it gets the first answer, with `Idempotent-Replayed: true`, and nothing is
created twice.
"""

from __future__ import annotations

import functools
import hashlib

from flask import Response, current_app, request

from helpdesk.server.api.inputs import current_user
from helpdesk.services import idempotency

KEY_HEADER = "Idempotency-Key"
# The headers of a first answer that a retry gets again (the body's type, where the new
# thing lives, its version).
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")
CHUNK_SIZE = 64 * 1024


def idempotent(view=None, *, secret: bool = False):
    """Make a creating view answer a retried request (same key, same request) only once.

    `secret`: its answer shows a secret once (a new token), which is not stored: a retry
    gets a 409 saying so, and still creates nothing.
    """
    if view is None:
        return functools.partial(idempotent, secret=secret)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(KEY_HEADER)
        if key is None:
            return view(*args, **kwargs)
        actor = current_user()

        def create() -> idempotency.Answer:
            response = current_app.make_response(view(*args, **kwargs))
            headers = {n: response.headers[n] for n in REPLAYED_HEADERS if n in response.headers}
            return idempotency.Answer(response.status_code, response.get_data(), headers, secret)

        answer, replayed = idempotency.run_once(actor, key, _fingerprint(actor.id), create)
        response = Response(answer.body, answer.status, answer.headers)
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    wrapper.idempotent = True  # for the API's description: it takes an Idempotency-Key
    return wrapper


def _fingerprint(user_id: int) -> str:
    """A digest of the request: method, path and query, caller, and the body.

    A multipart body is digested as its fields and files, not as its bytes: its boundary
    changes with every sending, its content does not.
    """
    digest = hashlib.sha256()
    for part in (request.method, request.full_path, str(user_id), request.mimetype):
        digest.update(part.encode() + b"\0")
    if request.mimetype == "multipart/form-data":
        for name, value in sorted(request.form.items(multi=True)):
            digest.update(f"{name}={value}".encode() + b"\0")
        for name, upload in request.files.items(multi=True):
            digest.update(f"{name}:{upload.filename}:{upload.mimetype}".encode() + b"\0")
            for chunk in iter(lambda: upload.stream.read(CHUNK_SIZE), b""):  # noqa: B023
                digest.update(chunk)
            upload.stream.seek(0)
            digest.update(b"\0")
    else:
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()
