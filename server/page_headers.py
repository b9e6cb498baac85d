"""Headers of the HTML pages that email links open."""

from __future__ import annotations

from flask import Response


def forbid_framing(response: Response) -> Response:
    """No other site may show the page in a frame (clickjacking a password or rating form)."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response
