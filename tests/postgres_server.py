"""A real PostgreSQL server for the test session, on 127.0.0.1 and a free port.

Import the fixture into a test module (`from tests.postgres_server import postgres_url`).
It runs `initdb` and `pg_ctl` from `/usr/lib/postgresql/*/bin` in a temporary folder and
stops the server at the end of the session. initdb refuses to run as root, so as root the
server runs as the `postgres` system user. Without PostgreSQL the tests skip and say why;
set HRDD_REQUIRE_SYSTEM_DEPS=1 (as CI does) to make that a failure instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port, unavailable

USER = "hrdd"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The SQLAlchemy URL (psycopg 3) of a fresh PostgreSQL server's `postgres` database."""
    bindir = _binaries()
    if bindir is None:
        unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
                     "install it with `apt-get install postgresql`")
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no `postgres` user to run initdb as")
    folder = Path(tempfile.mkdtemp(prefix="hrdd-pg-"))
    data, log = folder / "data", folder / "server.log"
    if os.geteuid() == 0:
        os.chown(folder, server_user.pw_uid, server_user.pw_gid)
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", USER,
                                        "--auth=trust", "-E", "UTF8", "--no-sync"]), **run)
        subprocess.run(_as_server_user([
            str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]),
            **run)
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.strip() or (log.read_text() if log.exists() else "")
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {detail}")
    try:
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                        "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url: str, schema: bool = True) -> str:
    """A new database on the test server, so each test starts clean; its URL. With `schema`
    it holds the app's tables, as `hrdd db upgrade` leaves it (the app refuses a PostgreSQL
    database whose schema is behind); without, it is empty."""
    import psycopg

    from assistant import db

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    if schema:
        engine = db.new_engine(url)
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()
    return url
