"""A real PostgreSQL server for the class store's tests: Debian's `postgresql` binaries, a
cluster in a temporary folder, a free loopback port and unix sockets in that folder; stopped and
removed at the end. initdb refuses to run as root, so as root the cluster belongs to `postgres`.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL = "PostgreSQL's server is missing: run scripts/system-deps.sh (Debian's postgresql)"


def binaries() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb; fails saying how to install."""
    found = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if
                   p.parts[-3].isdigit() else 0)
    if not found:
        pytest.fail(INSTALL, pytrace=False)
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One cluster: `start()`, `url(database)`, `stop()`."""

    def __init__(self):
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="cnnviz-pg-"))
        self.port = free_port()
        self.owner = None
        if os.geteuid() == 0:
            self.owner = next((name for name in ("postgres", "nobody") if _user(name)), None)
            if self.owner is None:
                pytest.fail("No user to run PostgreSQL as (initdb refuses root): " + INSTALL)
            account = pwd.getpwnam(self.owner)
            os.chown(self.folder, account.pw_uid, account.pw_gid)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=60,
                                check=False, cwd=self.folder)
        if result.returncode:
            log = self.folder / "log"
            pytest.fail(f"{' '.join(command)} failed: {result.stderr}\n"
                        f"{log.read_text() if log.exists() else ''}", pytrace=False)

    def start(self) -> "PostgresServer":
        data = self.folder / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "cnnviz", "--auth=trust",
                  "--encoding=UTF8", "--no-sync", "--no-instructions")
        # fsync off: the tests stop processes, never the machine, and each database is fresh
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"),
                  "-o", options, "-w", "-t", "30", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://cnnviz@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast",
                      "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
