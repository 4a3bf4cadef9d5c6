"""The signed-webhook ERP of signed_erp.py in a process of its own, for fault tests: it can really be killed,
frozen and restarted.

Frozen (SIGSTOP) it still accepts connections (the kernel does) and answers nothing, as a hung ERP does.
It keeps its parties and records in a JSON file, written before each answer leaves, so what it
acknowledged survives `kill -9` as a real ERP's database would. It also counts the pushes it got per
reference (a push of a reference it holds already is a double push, which its lookup by reference absorbs)
and the reads of its changes (inbound polls). `POST /control/ship/<reference>` (unsigned, for the test's
back office) ships a record, as ERP staff would.

    python -m tests.integration.http_erp --port PORT --secret SECRET --state FILE
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from tests.integration.signed_erp import SignedErp

PUSH_PATHS = ("/orders", "/contracts")
SHIP_PATH = "/control/ship/"


def _load(erp: SignedErp, state: Path) -> dict[str, int]:
    """Fill the ERP from its file; the push counts, and the reads of its changes under the key "/changes"."""
    if not state.exists():
        return {}
    data = orjson.loads(state.read_bytes())
    erp.parties, erp.records, erp.documents = data["parties"], data["records"], data["documents"]
    erp.creates, erp.party_calls = data["creates"], data["party_calls"]
    erp._ids = itertools.count(data["next_id"])
    erp._clock = datetime.fromisoformat(data["clock"])
    return dict(data["pushes"]) | {"/changes": data.get("changes_read", 0)}


def _save(erp: SignedErp, counts: dict[str, int], state: Path) -> None:
    ids = [int(p["id"]) for p in erp.parties.values()] + [int(r["erp_id"]) for r in erp.records.values()]
    pushes = {reference: n for reference, n in counts.items() if reference != "/changes"}
    data = {
        "parties": erp.parties,
        "records": erp.records,
        "documents": erp.documents,
        "creates": erp.creates,
        "party_calls": erp.party_calls,
        "next_id": max(ids, default=0) + 1,
        "clock": erp._clock.isoformat(),
        "pushes": pushes,
        "changes_read": counts.get("/changes", 0),
    }
    partial = state.with_suffix(".partial")
    partial.write_bytes(orjson.dumps(data))
    os.replace(partial, state)


def app(secret: str, state: Path) -> Any:
    """The ERP's ASGI app, saving its state to `state` before each answer is sent."""
    erp = SignedErp(secret)
    pushes = _load(erp, state)
    inner = erp.app()

    async def persisted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"].startswith(SHIP_PATH):
            erp.ship(scope["path"].removeprefix(SHIP_PATH))
            _save(erp, pushes, state)
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        body = bytearray()

        async def recorded() -> Any:
            message = await receive()
            body.extend(message.get("body", b""))
            return message

        async def saving(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if scope["method"] == "POST" and scope["path"] in PUSH_PATHS:
                    reference = orjson.loads(bytes(body)).get("reference")
                    pushes[reference] = pushes.get(reference, 0) + 1
                if scope["path"] == "/changes":
                    pushes["/changes"] = pushes.get("/changes", 0) + 1
                _save(erp, pushes, state)
            await send(message)

        await inner(scope, recorded, saving)

    return persisted


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ErpProcess:
    """Start, kill -9, freeze, thaw and restart the ERP process; read what it holds."""

    def __init__(self, secret: str, state: Path) -> None:
        self.secret, self.state, self.port = secret, state, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "tests.integration.http_erp", "--port", str(self.port),
                   "--secret", self.secret, "--state", str(self.state)]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the ERP did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def held(self) -> dict[str, Any]:
        """What the ERP holds: records by reference, creates, pushes per reference and reads of its changes."""
        empty = {"records": {}, "pushes": {}, "changes_read": 0}
        return orjson.loads(self.state.read_bytes()) if self.state.exists() else empty

    def ship(self, reference: str) -> None:
        """Ship a record in the ERP's back office: its status changes, news for the next poll."""
        httpx.post(f"{self.url}{SHIP_PATH}{reference}", timeout=5).raise_for_status()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(app(args.secret, args.state), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
