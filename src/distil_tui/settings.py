"""Where data lives and how the store is chosen.

Order of precedence: ``--db`` on the command line, then the ``DISTIL_DB``
environment variable, then ``distil.db`` in the platform's user data folder.
A value containing ``://`` is a SQLAlchemy URL; anything else is a file path.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "distil-tui"
DB_ENV = "DISTIL_DB"
REGION_ENV = "DISTIL_REGION"
DEFAULT_REGION = "GB"


def default_data_dir() -> Path:
    return Path(user_data_dir(APP_NAME, appauthor=False))


def db_url(value: str | None = None) -> str:
    """Turn ``--db`` / ``DISTIL_DB`` / the default into a SQLAlchemy URL."""
    value = value or os.environ.get(DB_ENV) or str(default_data_dir() / "distil.db")
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).expanduser().resolve())


def default_region() -> str:
    """Region used to read phone numbers written without a country code."""
    return os.environ.get(REGION_ENV, DEFAULT_REGION).upper()
