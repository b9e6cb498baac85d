"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_MAX_ATTACHMENT_SIZE = 10 * 1024 * 1024


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of bytes, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    max_attachment_size: int

    @property
    def attachment_dir(self) -> Path:
        return self.data_dir / "attachments"


def load_settings() -> Settings:
    """Read HELPDESK_DATA_DIR, HELPDESK_DATABASE and HELPDESK_MAX_ATTACHMENT_SIZE."""
    data_dir = Path(
        os.environ.get("HELPDESK_DATA_DIR") or platformdirs.user_data_dir("helpdesk")
    ).expanduser()
    database_url = os.environ.get("HELPDESK_DATABASE") or f"sqlite:///{data_dir / 'helpdesk.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        max_attachment_size=_env_int("HELPDESK_MAX_ATTACHMENT_SIZE", DEFAULT_MAX_ATTACHMENT_SIZE),
    )
