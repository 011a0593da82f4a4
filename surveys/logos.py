"""A sender's logo: a small raster image kept in the database and served by the app
itself (surveys.views.logo), so it works wherever the app runs, with no media storage.

Only PNG, JPEG, GIF and WebP are taken, recognised by their first bytes rather than by
the file's name or the browser's word for it. SVG is refused: it can carry script."""

from __future__ import annotations

MAX_BYTES = 100 * 1024

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class InvalidLogo(ValueError):
    """Says in words what is wrong with the file."""


def image_type(content: bytes) -> str:
    """The content type of a logo's bytes; InvalidLogo when it is too large or not a
    PNG, JPEG, GIF or WebP image."""
    if len(content) > MAX_BYTES:
        raise InvalidLogo(f"The logo is {len(content) // 1024} KB; keep it to {MAX_BYTES // 1024} KB.")
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidLogo("The logo must be a PNG, JPEG, GIF or WebP image (SVG is not accepted).")
