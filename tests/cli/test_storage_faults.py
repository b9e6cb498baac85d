"""A careless operator's day: a read-only database or a full disk gets one clear line, never a
traceback, and nothing half-written. These run the real `helpdesk` in a child process, since the
fault has to be the operating system's own."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import HELPDESK_SCRIPT, PASSWORD

from helpdesk.db import database
from helpdesk.models import ApiToken

pytestmark = pytest.mark.sqlite_only  # file permissions and a full disk under a SQLite file

# Root ignores file permissions; without these capabilities it obeys them like anyone else.
AS_AN_ORDINARY_USER = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
)


def helpdesk(*args: str, env: dict, prefix: list[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, HELPDESK_SCRIPT, *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_a_read_only_database_serves_reads_and_refuses_writes_in_one_line(installed, tmp_path):
    assert installed("org", "create", "Acme").exit_code == 0
    with database.connection_context():  # a token last used long ago: reading records its use
        ApiToken.update(last_used_at=None).execute()
    data = tmp_path / "data"
    env = dict(os.environ)
    for path in [data / "helpdesk.db", *data.glob("helpdesk.db-*")]:
        path.chmod(0o444)
    data.chmod(0o555)
    try:
        listed = helpdesk("org", "list", env=env, prefix=AS_AN_ORDINARY_USER)
        assert listed.returncode == 0, listed.stderr
        assert "Acme" in listed.stdout

        refused = helpdesk("org", "create", "Globex", env=env, prefix=AS_AN_ORDINARY_USER)
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            "Error: The help desk's data is read-only: reading works, changes are refused. "
            "Check the permissions of the data directory and the database."
        ]
    finally:
        data.chmod(0o755)
    assert "Globex" not in installed("org", "list").output


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
def test_a_full_disk_is_one_clear_line_and_changes_nothing(env, tmp_path):
    """A 2 MiB file system (a tmpfs in a private mount namespace), filled to the last byte."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"""
set -u
mount -t tmpfs -o size=2m tmpfs "$DISK" || exit 99
export HELPDESK_DATA_DIR="$DISK/data"
echo '{PASSWORD}' | "$HELPDESK" init --admin-email admin@example.test --password-stdin >/dev/null
dd if=/dev/zero of="$DISK/filler" bs=4k 2>/dev/null
"$HELPDESK" ticket submit --type question --title "Will this fit?" --org Nowhere
echo "exit=$?"
rm "$DISK/filler"
"$HELPDESK" ticket list --json
"""
    result = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", script],
        env={**os.environ, "DISK": str(disk), "HELPDESK": HELPDESK_SCRIPT},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if result.returncode == 99:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    # Full when SQLite writes its pages, or an I/O error when not even its -shm file fits.
    assert error.startswith("Error: The disk holding the help desk's data "), result.stderr
    assert "nothing was changed" in error
    assert "exit=1" in result.stdout
    assert '"items": []' in result.stdout  # once there is room again: no half-written ticket
