"""Run a real Tryton 8.2 server for tests.

`ensure_tryton_venv()` makes (once) a virtual environment holding trytond and the modules the CRM
needs. `TrytonServer` initialises a template SQLite database once (modules activated, then seeded
by `setup_db.py`: company, accounts, fiscal year, products, stock), serves every database of its
folder with one `trytond` process, and hands each test a fresh copy with `new_database(name)`.
`session_server()` is the process-wide server, started on first use and stopped at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

TRYTON_SERIES = "8.2"
REQUIREMENTS = [
    f"trytond=={TRYTON_SERIES}.*",
    f"trytond-sale=={TRYTON_SERIES}.*",
    f"trytond-sale-subscription=={TRYTON_SERIES}.*",
    f"trytond-account-credit-limit=={TRYTON_SERIES}.*",
    f"proteus=={TRYTON_SERIES}.*",
]
MODULES = ["sale", "sale_subscription", "account_credit_limit"]
MARKER = ".channel-crm-tryton-ready"
HERE = Path(__file__).resolve().parent

_CHECK = (
    "import trytond, proteus, trytond.modules.sale, trytond.modules.sale_subscription, "
    "trytond.modules.account_credit_limit; "
    f"assert trytond.__version__.startswith('{TRYTON_SERIES}.'), trytond.__version__"
)


def default_venv_path() -> Path:
    configured = os.environ.get("CRM_TRYTON_VENV")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "channel-crm" / f"tryton-{TRYTON_SERIES}-venv"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_tryton_venv(path: Path | None = None) -> Path:
    """The Tryton virtual environment, created and filled with pip unless it already imports trytond.

    A marker file (holding the requirements) records a finished install, so later runs only stat it.
    """
    venv = Path(path) if path is not None else default_venv_path()
    marker = venv / MARKER
    wanted = "\n".join(REQUIREMENTS)
    if marker.is_file() and marker.read_text() == wanted and venv_python(venv).exists():
        return venv
    python = venv_python(venv)
    if python.exists() and subprocess.run([python, "-c", _CHECK], capture_output=True, cwd=venv).returncode == 0:
        marker.write_text(wanted)
        return venv
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    venv.parent.mkdir(parents=True, exist_ok=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", "--clear", str(venv)], check=True, env=env)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS]
    subprocess.run(pip, check=True, env=env)
    subprocess.run([python, "-c", _CHECK], check=True, env=env)
    marker.write_text(wanted)
    log.info("Tryton venv installed in %.1fs at %s", time.perf_counter() - started, venv)
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrytonServer:
    """One `trytond` process serving every SQLite database of a temporary folder.

    Attributes: `url` (http://127.0.0.1:PORT), `login` ("admin"), `password`, `venv`, `directory`,
    `config_file`, `timings` (seconds per phase: venv, template_init, template_seed, start, ...).
    """

    TEMPLATE = "template"

    def __init__(self, venv: Path | None = None, directory: Path | None = None) -> None:
        self.timings: dict[str, float] = {}
        started = time.perf_counter()
        self.venv = ensure_tryton_venv(venv)
        self.timings["venv"] = time.perf_counter() - started
        self._own_directory = directory is None
        self.directory = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="crm-tryton-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.login = "admin"
        self.password = secrets.token_urlsafe(12)
        self.config_file = self.directory / "trytond.conf"
        self.pass_file = self.directory / "admin.pass"
        self.log_file = self.directory / "trytond.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._write_config()
        self._init_template()
        self.start()

    # -- setup --------------------------------------------------------------------------------
    def _bin(self, name: str) -> Path:
        return self.venv / ("Scripts" if os.name == "nt" else "bin") / name

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRYTOND_")}
        env["TRYTONPASSFILE"] = str(self.pass_file)
        env["TRYTOND_CONFIG"] = str(self.config_file)
        env.pop("PYTHONPATH", None)
        return env

    def _write_config(self) -> None:
        self.pass_file.write_text(self.password)
        self.config_file.write_text(
            "[database]\n"
            "uri = sqlite://\n"
            f"path = {self.directory}\n"
            "[web]\n"
            f"listen = 127.0.0.1:{self.port}\n"
            "[session]\n"
            "max_attempt = 1000\n"
            "[password]\n"
            "length = 1\n"
        )

    def _run(self, args: list[str | Path], phase: str) -> None:
        started = time.perf_counter()
        result = subprocess.run(args, env=self._env(), cwd=self.directory, capture_output=True, text=True)
        self.timings[phase] = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(
                f"{phase} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )

    def _init_template(self) -> None:
        (self.directory / f"{self.TEMPLATE}.sqlite").touch()
        self._run(
            [
                self._bin("trytond-admin"),
                "-c",
                self.config_file,
                "-d",
                self.TEMPLATE,
                "--all",
                "-u",
                *MODULES,
                "--activate-dependencies",
                "--email",
                "admin@example.com",
            ],
            "template_init",
        )
        self._run(
            [venv_python(self.venv), HERE / "setup_db.py", self.config_file, self.TEMPLATE],
            "template_seed",
        )

    # -- databases ----------------------------------------------------------------------------
    def new_database(self, name: str) -> str:
        """A fresh copy of the seeded template under `name`; returns the name to use in URLs."""
        target = self.directory / f"{name}.sqlite"
        if target.exists():
            raise ValueError(f"database {name!r} exists already")
        shutil.copyfile(self.directory / f"{self.TEMPLATE}.sqlite", target)
        if self.running:
            self.wake(name)
        return name

    def wake(self, name: str) -> None:
        """Load a database in the server before anyone logs in to it.

        Tryton 8.2 serving several databases loads each lazily, but when the first request for one is
        a login, its pool stays empty for the life of the process (KeyError 'res.user'). A request
        through the REST routes loads it properly (its 401 is expected). The server caches its list of
        databases per host name for the session timeout, so a copy made after that list was read is
        found only under a host name it has not seen yet: each wake sends a new one.
        """
        host = f"wake-{uuid.uuid4().hex}.localhost:{self.port}"
        response = httpx.get(f"{self.url}/{name}/rest/model/res.user", headers={"Host": host}, timeout=60)
        if response.status_code == 404:
            raise RuntimeError(f"trytond does not see database {name!r}")

    # -- process ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30, wake: Iterable[str] = ()) -> None:
        """Start the server (same port as before), wait until it answers, then load the `wake` databases.

        A client holding a session from before the restart must sign in again (or the database be
        woken first): its first call would otherwise meet the lazy-loading flaw described in `wake`.
        """
        with self._lock:
            if self.running:
                return
            started = time.perf_counter()
            with open(self.log_file, "ab") as out:
                self._process = subprocess.Popen(
                    [self._bin("trytond"), "-c", self.config_file],
                    env=self._env(),
                    cwd=self.directory,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            deadline = time.monotonic() + timeout
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"trytond exited with {self._process.returncode}; see {self.log_file}")
                try:
                    # Any HTTP answer means it listens; a database-less POST answers quickly.
                    httpx.post(
                        f"{self.url}/", json={"id": 0, "method": "common.server.version", "params": []}, timeout=1
                    )
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        self._kill()
                        raise RuntimeError(f"trytond did not answer within {timeout}s; see {self.log_file}") from None
                    time.sleep(0.05)
            for name in wake:
                self.wake(name)
            self.timings["start"] = time.perf_counter() - started

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def stop(self) -> None:
        """Stop the server process (the databases stay); `start()` brings it back on the same port."""
        with self._lock:
            self._kill()

    def close(self) -> None:
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> TrytonServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_session: TrytonServer | None = None
_session_lock = threading.Lock()


def session_server() -> TrytonServer:
    """The process-wide server: started on first use (template initialised once), stopped at exit."""
    global _session
    with _session_lock:
        if _session is None:
            _session = TrytonServer()
            atexit.register(_session.close)
        elif not _session.running:
            _session.start()
        return _session
