"""The real server (`tthc-metrics serve`, uvicorn) on a loopback port, and what it costs: peak RSS and
CPU time of its process tree, read from /proc while it works."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from benchmarks.common import BENCH_TOKEN, VENV_BIN

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def process_tree(pid: int) -> list[int]:
    """The pid and its descendants (through /proc/<pid>/task/<tid>/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (and their waited-for children)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            continue
    return total / CLOCK_TICKS


@dataclass
class Sampler:
    """Samples the summed RSS of a process tree every `interval` seconds in a thread."""

    pid: int
    interval: float = 0.1
    peak_rss_kb: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = sum(_status_kb(p, "VmRSS") for p in process_tree(self.pid))
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.samples += 1
            self._stop.wait(self.interval)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    workers: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's workers, or the one process with one worker."""
        tree = self.pids()
        if self.workers == 1:
            return [self.proc.pid]
        return [p for p in tree if p != self.proc.pid and _is_python(p)]

    def hwm_kb(self) -> dict[int, int]:
        """Each process's own peak RSS (VmHWM) since it started."""
        return {p: _status_kb(p, "VmHWM") for p in self.pids()}

    def rss_kb(self) -> int:
        return sum(_status_kb(p, "VmRSS") for p in self.pids())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _is_python(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"python" in fh.read().split(b"\0")[0]
    except OSError:
        return False


def start(
    database_url: str,
    workers: int,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    bin_dir: Path | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start `tthc-metrics serve --workers N` with a fresh process and wait until /readyz answers 200.

    bin_dir: the venv whose `tthc-metrics` to run (another commit's checkout, for the comparison;
    default this checkout's); PYTHONPATH is then dropped so that it imports its own `app` only."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "TTHC_ADMIN_TOKEN": BENCH_TOKEN,
        "TTHC_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    if bin_dir is not None:
        env.pop("PYTHONPATH", None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [str((bin_dir or VENV_BIN) / "tthc-metrics"), "serve", "--workers", str(workers)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends exactly its tree
        )
    server = Server(proc, port, workers, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(server.base_url + "/readyz", timeout=2).status_code == 200:
                if workers > 1:
                    _wait_for_workers(server)
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not become ready in 90s; see {log_path}")


def _wait_for_workers(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(server.worker_pids()) < server.workers:
        time.sleep(0.2)
    time.sleep(1.0)  # let the last worker finish its startup
