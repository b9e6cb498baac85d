"""Where the CLI finds its server and token; `login` keeps tokens in a 0600 file."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import platformdirs

from helpdesk.config import load_settings


def config_path() -> Path:
    return Path(
        os.environ.get("HELPDESK_CONFIG")
        or Path(platformdirs.user_config_dir("helpdesk")) / "config.json"
    ).expanduser()


def server_url() -> str | None:
    """HELPDESK_URL, or None for the embedded database."""
    url = os.environ.get("HELPDESK_URL", "").strip()
    return url.rstrip("/") or None


def local_key(database_url: str) -> str:
    return f"local:{database_url}"


def target_key() -> str:
    """Tokens are kept per server: a remote URL, or the local database URL."""
    return server_url() or local_key(load_settings().database_url)


def _read() -> dict:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(data: dict) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def stored_token() -> str | None:
    """HELPDESK_TOKEN wins over the token `login` stored for this server."""
    env = os.environ.get("HELPDESK_TOKEN", "").strip()
    if env:
        return env
    return _read().get("tokens", {}).get(target_key())


def save_token(token: str, key: str | None = None) -> None:
    """Keep `token` for the current server, or for the one `key` names."""
    data = _read()
    data.setdefault("tokens", {})[key or target_key()] = token
    _write(data)


def forget_token() -> bool:
    data = _read()
    data.get("profiles", {}).pop(target_key(), None)
    if data.get("tokens", {}).pop(target_key(), None) is None:
        return False
    _write(data)
    return True


def save_profile(user: dict) -> None:
    """Remember the user's display choices (language, date format) for this server."""
    data = _read()
    data.setdefault("profiles", {})[target_key()] = {
        "language": user.get("language", "en"),
        "date_format": user.get("date_format", "iso"),
    }
    _write(data)


def profile() -> dict:
    """The saved display choices; read once per version of the config file."""
    path = config_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _profile_at(str(path), stamp, target_key())


@functools.lru_cache(maxsize=8)
def _profile_at(path: str, stamp: int, key: str) -> dict:
    return _read().get("profiles", {}).get(key, {})
