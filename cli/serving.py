"""The production WSGI servers of `helpdesk serve`: gunicorn where the OS forks, else waitress."""

from __future__ import annotations

import os
import signal
import sys
import time
from enum import StrEnum
from typing import Protocol

GUNICORN = "gunicorn"
WAITRESS = "waitress"
# gunicorn needs fork() and Unix signals; waitress (one process, threads) runs everywhere.
Server = StrEnum(
    "Server",
    {name: name for name in (GUNICORN, WAITRESS)}
    if sys.platform != "win32"
    else {WAITRESS: WAITRESS},
)
DEFAULT_SERVER = next(iter(Server))


def default_workers() -> int:
    """One process per core, at most 4: requests then run in parallel instead of taking turns
    under one GIL; more processes than cores add memory, not speed, and SQLite has one writer."""
    return max(1, min(os.cpu_count() or 1, 4))


def default_threads(server: str) -> int:
    """Threads per process: 4 keep a core busy while others wait on the database lock, a disk
    flush or a slow client; waitress's one process serves everything, so it gets 8."""
    return 4 if server == GUNICORN else 8


def run_waitress(application, *, host: str, port: int, threads: int) -> None:
    """Serve until interrupted, in this process."""
    import waitress

    # waitress drops X-Forwarded-* unless it trusts the peer itself (one address at most):
    # the app decides instead, from HELPDESK_TRUSTED_PROXIES (server/proxies.py).
    waitress.serve(
        application, host=host, port=port, threads=threads, clear_untrusted_proxy_headers=False
    )


def run_gunicorn(
    application,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    background: Background | None = None,
) -> None:
    """Serve with gunicorn's master and `workers` forked processes until SIGTERM or SIGINT.

    The app is built once, here, before the fork (preload), so its schema check fails before
    any worker starts; each worker connects anew (helpdesk.db forgets inherited connections).
    `background` (the mail sender) runs once, in a process of its own beside the workers.
    """
    from gunicorn.app.base import BaseApplication

    class _Embedded(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "preload_app": True,
                # The app logs each request itself (server/request_log.py: user and request id,
                # JSON if asked), so gunicorn's own access log stays off; its errors to stderr.
                "accesslog": None,
                # gunicorn believes X-Forwarded-Proto from 127.0.0.1 by default: no one but
                # the app's HELPDESK_TRUSTED_PROXIES decides (server/proxies.py).
                "forwarded_allow_ips": "",
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "helpdesk",
                # Threads wait on SQLite's busy timeout (30 s) at worst: do not kill them first.
                "timeout": 60,
                "graceful_timeout": 10,
                # gunicorn closes a keep-alive connection idle for 2 s by default; a busy
                # worker's loop can see a client's next request only after that and close it
                # under the request (the client's "connection reset", 2 in 20,000 creates
                # under load). Clients and proxies reuse connections: keep them longer.
                "keepalive": 15,
            }
            if background is not None:
                options["when_ready"] = lambda arbiter: _start_beside(arbiter, background)
                options["on_exit"] = lambda arbiter: _stop_beside(arbiter)
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return application

    _Embedded().run()  # exits the process (status 0 on SIGTERM/SIGINT)


class Background(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


def _start_beside(arbiter, background: Background) -> None:
    """Fork a process for `background` while the master has no thread yet: a thread started in
    the master would be copied into each worker's fork mid-work (its locks held forever)."""
    pid = os.fork()
    if pid:
        arbiter.background_pid = pid
        return
    try:
        for signum in [*arbiter.SIGNALS, signal.SIGCHLD]:  # the master's: not ours to run
            signal.signal(signum, signal.SIG_DFL)
        for signum in (signal.SIGTERM, signal.SIGINT):  # finish the round, then stop
            signal.signal(signum, lambda *_: background.stop())
        background.run()
    finally:
        os._exit(0)


def _stop_beside(arbiter, seconds: float = 10) -> None:
    pid = getattr(arbiter, "background_pid", None)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + seconds
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.05)
    except (ProcessLookupError, ChildProcessError):  # already gone, and reaped by gunicorn
        pass
