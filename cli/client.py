"""The CLI's only way in: the JSON API, over HTTP or through the same Flask app in-process."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpdesk import __version__
from helpdesk.cli import config
from helpdesk.errors import HelpdeskError

log = logging.getLogger("helpdesk.cli")

EXIT_CODES = {401: 4, 429: 5}


class ApiError(HelpdeskError):
    """An error answer from the API, carried to the CLI's error handler."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message, details)
        self.http_status = status
        self.code = code
        self.exit_code = EXIT_CODES.get(status, 1)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


class ApiClient:
    """Send API requests to HELPDESK_URL, or in-process to the local database."""

    def __init__(self, url: str | None = None, token: str | None = None):
        self.url = url
        self.token = token
        self._session = None
        self._test_client = None

    @classmethod
    def from_environment(cls) -> ApiClient:
        url = config.server_url()
        log.info("using %s", url or f"the local database ({config.target_key()[6:]})")
        return cls(url, config.stored_token())

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

    def _local(self):
        if self._test_client is None:
            from helpdesk.server import create_app

            self._test_client = create_app().test_client()
        return self._test_client

    def _remote(self):
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def _send(
        self, method: str, path: str, *, params=None, json_body=None, files=None, stream=False
    ):
        """Return (status, headers, raw response) for either transport."""
        path = "/api/v1" + path
        with ExitStack() as stack:
            handles = [
                (name, stack.enter_context(open(file, "rb")))  # noqa: SIM115
                for name, file in (files or [])
            ]
            if self.url is None:
                kwargs: dict[str, Any] = {"query_string": params, "headers": self._headers()}
                if files is not None:
                    kwargs["data"] = {
                        "data": json.dumps(json_body or {}),
                        "attachments": [(fh, name) for name, fh in handles],
                    }
                    kwargs["content_type"] = "multipart/form-data"
                elif json_body is not None:
                    kwargs["json"] = json_body
                resp = self._local().open(path, method=method, buffered=not stream, **kwargs)
                return resp.status_code, dict(resp.headers), resp
            import requests

            kwargs = {"params": params, "headers": self._headers(), "timeout": 60, "stream": stream}
            if files is not None:
                kwargs["data"] = {"data": json.dumps(json_body or {})}
                kwargs["files"] = [("attachments", (name, fh)) for name, fh in handles]
            elif json_body is not None:
                kwargs["json"] = json_body
            try:
                resp = self._remote().request(method, self.url + path, **kwargs)
            except requests.RequestException as exc:
                raise ApiError(0, "unreachable", f"Cannot reach {self.url}: {exc}") from None
            return resp.status_code, dict(resp.headers), resp

    @staticmethod
    def _json_of(raw) -> Any:
        try:
            return raw.get_json() if hasattr(raw, "get_json") else raw.json()
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
    ) -> Response:
        """Call the API; raise ApiError on an error answer."""
        status, headers, raw = self._send(
            method, path, params=params, json_body=json_body, files=files
        )
        log.debug("%s %s -> %s", method, path, status)
        body = self._json_of(raw)
        if status >= 400:
            self._raise(status, body)
        return Response(status, headers, body)

    @staticmethod
    def _raise(status: int, body: Any):
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            raise ApiError(status, "http_error", f"The server answered HTTP {status}.")
        raise ApiError(
            status, error.get("code", "error"), error.get("message", ""), error.get("details")
        )

    @contextmanager
    def download(self, path: str) -> Iterator[tuple[dict[str, str], Iterator[bytes]]]:
        """Stream a file from the API in chunks; the response is closed when the block ends."""
        status, headers, raw = self._send("GET", path, stream=True)
        try:
            if status >= 400:
                self._raise(status, self._json_of(raw))
            if hasattr(raw, "iter_content"):
                yield headers, raw.iter_content(64 * 1024)
            else:
                yield headers, raw.iter_encoded()
        finally:
            raw.close()

    # -- shorthands -----------------------------------------------------------------------

    def get(self, path: str, **params) -> Any:
        clean = {k: v for k, v in params.items() if v not in (None, [], ())}
        return self.request("GET", path, params=clean).body

    def post(self, path: str, body: dict | None = None, files=None) -> Any:
        return self.request("POST", path, json_body=body or {}, files=files).body
