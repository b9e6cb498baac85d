"""The installed distribution claims one import namespace and one console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_only_the_helpdesk_namespace(tmp_path):
    # No build isolation: the build uses this environment's setuptools and needs no network.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("helpdesk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert top_level == {"helpdesk"}
    assert "helpdesk/server/__init__.py" in names
    assert "helpdesk/cli/main.py" in names
    assert "helpdesk/server/api/tickets.py" in names
    assert "helpdesk/mail/sender.py" in names
    assert "helpdesk/mail/templates/notification.html" in names
    assert "helpdesk/data/common_passwords.txt" in names
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "helpdesk = helpdesk.cli.main:app" in text
