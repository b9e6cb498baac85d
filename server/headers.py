"""Headers every response carries, API and pages alike, errors included."""

from __future__ import annotations

from flask import Flask

# What the pages may load and where forms may go: this server only; no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# Browsers that once saw the site over HTTPS refuse plain HTTP to it for this long (a year).
HSTS = "max-age=31536000"


def init_security_headers(app: Flask, *, https: bool) -> None:
    """Register the headers on every response; Strict-Transport-Security when the public URL
    is https (sent over plain HTTP it is ignored, so a proxy's http leg does not matter)."""

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")  # pages show private data
        return response
