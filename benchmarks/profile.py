"""Where ingestion's time goes: py-spy samples the real server's threads while they run on the CPU
(idle and blocked time left out; the import's CPU shares tell how much of the wall clock that is)
during an import over HTTP, and the samples are summarised per function."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import VENV_BIN, log
from benchmarks.ingest import run_import
from benchmarks.server import Server

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> tuple[str, bool]:
    """'func (path/to/file.py:12)' -> ('func (file.py)', is the project's own code)."""
    m = _FRAME.match(frame)
    if not m:
        return frame, False
    path = m.group("file")
    own = path.startswith("app/") or ("/app/" in path and "site-packages" not in path)
    short = "app/" + path.split("app/", 1)[1] if own else path.rsplit("/", 1)[-1]
    return f"{m.group('func')} ({short})", own


def _thread_group(head: str) -> str:
    name = head.split(":", 1)[1].strip() if ":" in head else head
    if name.startswith("AnyIO worker thread"):
        return "threadpool (process_chunk)"
    if name == "MainThread":
        return "event loop (HTTP, NDJSON parsing)"
    return name


def summarise(raw: Path, top: int = 25) -> dict[str, Any]:
    """Per thread group: samples; top functions by self samples and project functions by inclusive ones."""
    threads: Counter[str] = Counter()
    self_samples: dict[str, Counter[str]] = {}
    inclusive: dict[str, Counter[str]] = {}
    for line in raw.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = stack.split(";")
        group = _thread_group(frames[0])
        threads[group] += count
        names = [_frame_name(f) for f in frames[1:]]
        if names:
            self_samples.setdefault(group, Counter())[names[-1][0]] += count
        seen = {name for name, own in names if own}
        inc = inclusive.setdefault(group, Counter())
        for name in seen:
            inc[name] += count
    total = sum(threads.values())
    out: dict[str, Any] = {"samples": total}
    per_thread: dict[str, Any] = {}
    for group, n in threads.most_common():
        per_thread[group] = {
            "samples": n,
            "share_of_all": round(n / total, 3) if total else 0,
            "top_self": [
                {"function": f, "samples": c, "share": round(c / n, 3)}
                for f, c in self_samples.get(group, Counter()).most_common(top)
            ],
            "top_inclusive_app": [
                {"function": f, "samples": c, "share": round(c / n, 3)}
                for f, c in inclusive.get(group, Counter()).most_common(top)
            ],
        }
    out["threads"] = per_thread
    return out


def profile_import(
    server: Server, path: Path, records: int, out_dir: Path, label: str, db_pid: int | None
) -> dict[str, Any]:
    """Import the file while py-spy samples the server at 100 Hz; the raw stacks and a summary."""
    spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("py-spy is not installed (uv add --dev py-spy)")
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / f"ingest-profile-{label}.txt"
    cmd = [spy, "record", "--pid", str(server.proc.pid), "--rate", "100", "--format", "raw"]
    cmd += ["--threads", "--nonblocking", "--output", str(raw)]
    spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    try:
        result = run_import(server, path, records, db_pid)
    finally:
        spy_proc.send_signal(signal.SIGINT)
        _, err = spy_proc.communicate(timeout=120)
    if not raw.exists():
        raise RuntimeError(f"py-spy wrote nothing: {err.decode()[-500:]}")
    summary = summarise(raw)
    log(f"  profile {label}: {summary['samples']:,} samples, raw stacks in {raw}")
    return {"import": result, "raw": str(raw), "summary": summary}


def profile_text(summary: dict[str, Any], top: int = 15) -> str:
    """The summary as text for the console and the Markdown report."""
    lines = []
    for group, t in summary["threads"].items():
        lines.append(f"{group}: {t['samples']:,} samples ({100 * t['share_of_all']:.0f}% of all CPU samples)")
        lines.append("  self (where the samples were taken):")
        lines += [f"    {100 * e['share']:5.1f}%  {e['function']}" for e in t["top_self"][:top]]
        lines.append("  inclusive, project code (time spent in it and below):")
        lines += [f"    {100 * e['share']:5.1f}%  {e['function']}" for e in t["top_inclusive_app"][:top]]
    return "\n".join(lines)
