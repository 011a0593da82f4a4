"""How collectstatic stores the static files in production (settings.STORAGES)."""

from __future__ import annotations

from typing import Any

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


class GzipManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's hashed, compressed files, compressed with gzip only.

    WhiteNoise adds a Brotli copy of each file whenever the brotli package can be
    imported. requirements.txt does not bring it, but the development tools do (locust,
    through geventhttpclient), and at Brotli's default quality collectstatic took 15
    times the CPU (47 s instead of 3 s for our ~1,000 files): development and tests would
    no longer do what production does. Gzip is what production serves either way."""

    def create_compressor(self, **kwargs: Any) -> Compressor:
        return super().create_compressor(use_brotli=False, **kwargs)
