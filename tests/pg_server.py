"""A PostgreSQL server of its own (Debian's postgresql package) in a temporary folder, for the tests and
bench/bench_server.py: initdb, listening only on a unix socket in that folder (no TCP port), trust
authentication for its one user `bulletin`. initdb refuses root: as root the server runs as the `postgres` user
(Debian's package creates it), else `nobody`."""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def postgres_bin() -> Path | None:
    """The folder of initdb/pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                      if p.parts[-3].isdigit() else 0)
    return versions[-1].parent if versions else None


class TempPostgres:
    """start() → new_database() any number of times → stop() (which removes the folder)."""

    def __init__(self, max_connections: int = 40):
        bindir = postgres_bin()
        assert bindir is not None, "PostgreSQL is not installed (apt-get install postgresql)"
        self.bindir = bindir
        self.max_connections = max_connections
        self.folder = Path(tempfile.mkdtemp(prefix="bulletin-pg-"))
        self.data, self.sock = self.folder / "data", self.folder / "sock"
        self._run_as: list[str] = []
        self._names = itertools.count()
        self._admin = None

    def _run(self, *args: str) -> None:
        res = subprocess.run([*self._run_as, *args], capture_output=True, text=True)
        assert res.returncode == 0, f"{args[0]}: {res.stdout}{res.stderr}"

    def start(self) -> "TempPostgres":
        self.sock.mkdir()
        if os.geteuid() == 0:
            import pwd

            user = "postgres"
            try:
                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            for path in (self.folder, self.sock):
                os.chown(path, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            self._run_as = ["runuser", "-u", user, "--"]
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "bulletin", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses='' -c unix_socket_directories='{self.sock}' -c fsync=off "
                   f"-c max_connections={self.max_connections}")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "server.log"), "-w", "-t", "60", "start")
        import sqlalchemy as sa

        self._admin = sa.create_engine(f"postgresql+psycopg://bulletin@/postgres?host={self.sock}",
                                       isolation_level="AUTOCOMMIT")
        return self

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        name = f"t{next(self._names)}"
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://bulletin@/{name}?host={self.sock}"

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
