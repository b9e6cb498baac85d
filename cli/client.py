"""The CLI's only way in: the JSON API, over HTTP or through the same Flask app in-process.

One httpx client serves both transports: the network to HELPDESK_URL, or httpx's WSGI
transport into the Flask app on the local database. Every request is built once, in `_send`.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpdesk import __version__
from helpdesk.cli import config
from helpdesk.cli.i18n import t
from helpdesk.errors import HelpdeskError

if TYPE_CHECKING:
    import httpx

# httpx is imported where a request is made, not here: `helpdesk --help` and every command
# that sends nothing start without it (tests/cli/test_startup.py).

log = logging.getLogger("helpdesk.cli")

EXIT_CODES = {401: 4, 429: 5}
# Error codes whose exit code is not their HTTP status's: an option the server says this
# request does not take is a usage error, as Click's own (exit 2).
EXIT_CODES_BY_CODE = {"not_asked": 2}
# A large upload or a busy server may take a while; a server that does not even accept the
# connection should not keep the user waiting.
TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS = 60.0, 10.0
CHUNK_SIZE = 64 * 1024
LOCAL_BASE_URL = "http://localhost"
# The POSTs that create something (server/idempotency.py): each is sent with a fresh
# Idempotency-Key, so that sending it again after a lost answer creates nothing twice.
CREATING_POSTS = re.compile(
    r"/(tickets(/[^/]+/(comments|attachments))?|users|organizations|tokens)"
)
# A lost connection or a 503 is tried again, this many times in all, waiting a little longer
# each time (seconds; a 503's retry_after is honoured up to the cap).
ATTEMPTS = 4
FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 0.25, 5.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ApiError(HelpdeskError):
    """An error answer from the API, carried to the CLI's error handler."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message, details)
        self.http_status = status
        self.code = code
        self.exit_code = EXIT_CODES_BY_CODE.get(code) or EXIT_CODES.get(status, 1)


class ServerUnreachable(HelpdeskError):
    """HELPDESK_URL did not answer (refused, unknown host, timed out, connection lost)."""

    code = "unreachable"


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: Any


def _reason(exc: httpx.TransportError) -> str:
    """Why a request got no answer, in a few words (no exception class names, no dump)."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time" if not isinstance(exc, httpx.ConnectTimeout) else "timed out"
    cause: BaseException | None = exc
    for _ in range(8):  # httpx wraps httpcore, which wraps the socket's OSError
        if cause is None:
            break
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


class ApiClient:
    """Send API requests to HELPDESK_URL, or in-process to the local database."""

    def __init__(self, url: str | None = None, token: str | None = None):
        self.url = url
        self.token = token
        # Set for commands that act as the logged-in user: an answer "authentication
        # required" to them means "not logged in", not a refused password.
        self.acts_as_login = False
        self._http: httpx.Client | None = None

    @classmethod
    def from_environment(cls) -> ApiClient:
        url = config.server_url()
        log.info("using %s", url or f"the local database ({config.target_key()[6:]})")
        client = cls(url, config.stored_token())
        client.acts_as_login = True
        return client

    # -- transport ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": f"helpdesk-cli/{__version__}",
            # Errors before the server knows who we are (a refused login) in our language too.
            "Accept-Language": config.profile().get("language", "en"),
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _client(self) -> httpx.Client:
        """The one httpx client: over the network, or into the Flask app in this process."""
        if self._http is None:
            import httpx

            timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
            if self.url is None:
                from helpdesk.server import create_app

                transport = httpx.WSGITransport(app=_pep3333_path(create_app()))
                self._http = httpx.Client(
                    transport=transport, base_url=LOCAL_BASE_URL, timeout=timeout
                )
            else:
                self._http = httpx.Client(base_url=_checked_url(self.url), timeout=timeout)
            weakref.finalize(self, self._http.close)
        return self._http

    def _send(
        self,
        method: str,
        path: str,
        *,
        params=None,
        json_body=None,
        files=None,
        stream=False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request, again after a transient failure when that cannot do it twice.

        Retried, for a request that is safe to repeat (a read, or a creating POST with its
        Idempotency-Key): a connection lost before the answer, and a proxy's 503; for any
        request, the server's 503 "busy" (which says that nothing was changed).
        """
        import httpx

        headers = {**self._headers(), **(headers or {})}
        if method == "POST" and CREATING_POSTS.fullmatch(path):
            headers.setdefault("Idempotency-Key", str(uuid.uuid4()))
        repeatable = method in SAFE_METHODS or "Idempotency-Key" in headers
        for attempt in range(1, ATTEMPTS + 1):
            last = attempt == ATTEMPTS
            try:
                response = self._send_once(method, path, params, json_body, files, stream, headers)
            except httpx.TransportError as exc:
                # Lost after connecting (reset, closed without an answer). A server that
                # refuses the connection is down or elsewhere: said at once, not waited for.
                lost = isinstance(
                    exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
                )
                if last or not (repeatable and lost):
                    raise self._unreachable(exc) from None
                log.info("%s %s: %s; trying again", method, path, _reason(exc))
                time.sleep(_backoff(attempt))
                continue
            if response.status_code != 503 or last:
                return response
            response.read()
            body = self._json_of(response)
            error = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error, dict):  # a proxy's: no server behind it right now
                error = {"code": "unavailable"} if repeatable else {}
            # Ours: "busy" changed nothing and passes; a full disk or an old schema does not.
            if error.get("code") not in ("busy", "unavailable"):
                return response
            response.close()
            log.info("%s %s: 503; trying again", method, path)
            time.sleep(_backoff(attempt, (error.get("details") or {}).get("retry_after")))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _send_once(self, method, path, params, json_body, files, stream, headers):
        """Send one request over whichever transport; multipart when there are files."""
        with ExitStack() as stack:
            body: dict[str, Any] = {}
            if files is not None:
                body["data"] = {"data": json.dumps(json_body or {})}
                body["files"] = [
                    ("attachments", (name, stack.enter_context(_open(file))))
                    for name, file in files
                ]
            elif json_body is not None:
                body["json"] = json_body
            client = self._client()
            request = client.build_request(
                method, "/api/v1" + path, params=params, headers=headers, **body
            )
            return client.send(request, stream=stream)

    def _unreachable(self, exc: httpx.TransportError) -> HelpdeskError:
        where = self.url or "the local database"
        return ServerUnreachable(
            t("cannot reach {url}: {reason}", url=where, reason=_reason(exc)),
            {"url": where},
        )

    @staticmethod
    def _json_of(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def request(
        self,
        method: str,
        path: str,
        *,
        params=None,
        json_body=None,
        files: list[tuple[str, Path]] | None = None,
        if_match: str | None = None,
    ) -> Response:
        """Call the API; raise ApiError on an error answer. `if_match`: the ETag of what the
        command has shown, so that a change made meanwhile refuses this one (412)."""
        headers = {"If-Match": if_match} if if_match else None
        response = self._send(
            method, path, params=params, json_body=json_body, files=files, headers=headers
        )
        log.debug("%s %s -> %s", method, path, response.status_code)
        body = self._json_of(response)
        if response.status_code >= 300:
            self._raise(response, body)
        return Response(response.status_code, response.headers, body)

    def _raise(self, response: httpx.Response, body: Any):
        status = response.status_code
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            message = t("The server answered HTTP {status}.", status=status)
            if 300 <= status < 400 and response.headers.get("Location"):
                message = t(
                    "The server answered HTTP {status} (moved to {location}): check HELPDESK_URL.",
                    status=status,
                    location=response.headers["Location"],
                )
            raise ApiError(status, "http_error", message, {"status": status})
        code = error.get("code", "error")
        message = error.get("message", "")
        if code == "authentication_required" and self.acts_as_login and not self.token:
            # The API tells API clients to send a bearer token; a CLI user logs in.
            message = (
                t("Not logged in to {url}: run `helpdesk login EMAIL` first.", url=self.url)
                if self.url
                else t("Not logged in: run `helpdesk login EMAIL` first.")
            )
        raise ApiError(status, code, message, error.get("details"))

    @contextmanager
    def download(self, path: str) -> Iterator[tuple[Mapping[str, str], Iterator[bytes]]]:
        """Stream a file from the API in chunks; the response is closed when the block ends."""
        response = self._send("GET", path, stream=True)
        try:
            if response.status_code >= 300:
                response.read()
                self._raise(response, self._json_of(response))
            yield response.headers, self._chunks(response)
        finally:
            response.close()

    def _chunks(self, response: httpx.Response) -> Iterator[bytes]:
        import httpx

        try:
            yield from response.iter_bytes(CHUNK_SIZE)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    # -- shorthands -----------------------------------------------------------------------

    def get(self, path: str, **params) -> Any:
        clean = {k: v for k, v in params.items() if v not in (None, [], ())}
        return self.request("GET", path, params=clean).body

    def post(self, path: str, body: dict | None = None, files=None) -> Any:
        return self.request("POST", path, json_body=body or {}, files=files).body

    def patch(self, path: str, body: dict, *, if_match: str | None = None) -> Any:
        return self.request("PATCH", path, json_body=body, if_match=if_match).body

    def put(self, path: str, body: dict) -> Any:
        return self.request("PUT", path, json_body=body).body


def _backoff(attempt: int, retry_after=None) -> float:
    """Seconds to wait before attempt `attempt + 1`: doubling, or what the server asked."""
    if isinstance(retry_after, int | float) and retry_after > 0:
        return min(float(retry_after), MAX_BACKOFF_SECONDS)
    return min(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def _pep3333_path(app):
    """The Flask app, given PATH_INFO as PEP 3333 has it: the path's bytes read as latin-1.

    httpx's WSGI transport passes the decoded text (`résumé.pdf`); a real server passes the
    UTF-8 bytes as latin-1, which is what Werkzeug decodes. Without this, a non-ASCII file name
    in a URL would reach the app garbled in-process only.
    """

    def wsgi(environ, start_response):
        environ["PATH_INFO"] = environ["PATH_INFO"].encode("utf-8").decode("latin-1")
        return app(environ, start_response)

    return wsgi


def _checked_url(url: str) -> str:
    """HELPDESK_URL as httpx wants it, or a clear error naming the setting."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise HelpdeskError(
            t(
                "HELPDESK_URL must be an http:// or https:// address such as "
                "http://127.0.0.1:5000 (got {url!r}).",
                url=url,
            ),
            {"setting": "HELPDESK_URL"},
        )
    return url


def _open(file: Path):
    try:
        return open(file, "rb")  # noqa: SIM115  (closed by the caller's ExitStack)
    except OSError as exc:
        raise HelpdeskError(
            t("Cannot read {path}: {reason}.", path=str(file), reason=exc.strerror or exc),
            {"path": str(file)},
        ) from None
