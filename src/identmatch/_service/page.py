"""The web page's files (package data in ``web/``) and the headers they are served with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi.responses import Response

__all__ = ["PAGE_HEADERS", "PAGE_POLICY", "page_files", "static_file"]

PAGE_FILES = {"/": "index.html", "/app.js": "app.js", "/app.css": "app.css"}
MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page's Content-Security-Policy: its own script and style only, no inline code, no
other origin, no form submission (the script sends JSON), never framed. Images may also come
from ``blob:`` URLs: the charts, SVGs the script fetched from the service with the key."""
PAGE_HEADERS = {
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cache-control": "no-store",
}


def page_files() -> dict[str, tuple[str, bytes]]:
    """The page's files (package data), by the path each is served at."""
    from importlib.resources import files

    folder = files("identmatch._service") / "web"
    return {
        path: (MEDIA[Path(name).suffix], (folder / name).read_bytes())
        for path, name in PAGE_FILES.items()
    }


def static_file(media: str, body: bytes) -> Callable[[], Awaitable[Response]]:
    async def page() -> Response:
        """A file of the page; it holds no data (the data come from /v1/ with a key)."""
        return Response(body, media_type=media, headers=PAGE_HEADERS)

    return page
