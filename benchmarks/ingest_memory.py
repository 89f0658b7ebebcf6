"""Peak RSS of the real server (SQLite) under two hostile NDJSON imports (issue 12):

- `long-lines`: 80 lines just under 1 MB each, every one a record whose `procedure_name` is a list of
  ~330,000 empty objects (each parses into a Python dict: ~20x the line's bytes);
- `rejected`: 600,000 lines of `{}` (each rejected with 7 errors).

    .venv/bin/python -m benchmarks.ingest_memory [long-lines|rejected ...]

Prints, per case, the server's VmHWM before and after the request, the response's size and time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks.common import BENCH_TOKEN, VENV_BIN
from benchmarks.server import start

LINE = 1024 * 1024 - 64


def long_lines() -> Iterator[bytes]:
    head = b'{"code": "L-%d", "procedure_code": "1.004227", "procedure_name": ['
    for i in range(80):
        start = head % i
        n = (LINE - len(start) - 3) // 3
        yield start + b"{}," * (n - 1) + b"{}]}\n"


def rejected() -> Iterator[bytes]:
    block = b"{}\n" * 10_000
    for _ in range(60):
        yield block


CASES = {"long-lines": long_lines, "rejected": rejected}


def main(argv: list[str]) -> int:
    names = argv or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            url = f"sqlite:///{Path(tmp) / name}.db"
            env = {**os.environ, "DATABASE_URL": url, "TTHC_LOG_LEVEL": "WARNING"}
            subprocess.run(
                [str(VENV_BIN / "tthc-metrics"), "migrate"], env=env, check=True, capture_output=True
            )
            server = start(url, 1, Path(tmp) / f"{name}.log")
            try:
                before = server.hwm_kb()[server.proc.pid]
                t0 = time.monotonic()
                r = httpx.post(
                    server.base_url + "/v1/dossiers",
                    content=CASES[name](),
                    headers={
                        "Content-Type": "application/x-ndjson",
                        "Authorization": f"Bearer {BENCH_TOKEN}",
                    },
                    timeout=600,
                )
                elapsed = time.monotonic() - t0
                after = server.hwm_kb()[server.proc.pid]
                body = r.json()
                summary = {k: v for k, v in body.items() if k not in ("errors", "errors_summary")}
                print(
                    f"{name}: status {r.status_code}, response {len(r.content) / 1e6:.1f} MB, "
                    f"{elapsed:.1f} s, server VmHWM {before / 1024:.0f} MB before, "
                    f"{after / 1024:.0f} MB after; "
                    f"{summary}; errors listed {len(body.get('errors', []))}",
                    flush=True,
                )
            finally:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
