"""Contract fuzzing with schemathesis against the real server's served document.

`make test` runs a bounded, seeded pass (tests/trust/test_contract_fuzz.py); `make fuzz` runs
`python -m tests.trust.fuzz` with many more examples per operation, a fresh seed, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT
from tests.trust.live import ADMIN_TOKEN, LiveServer

HERE = Path(__file__).resolve().parent


@dataclass
class FuzzRun:
    returncode: int
    output: str

    @property
    def failures(self) -> str:
        """The FAILURES section, long lines cut, for an assertion message a person can read."""
        text = self.output
        start = text.find("= FAILURES =")
        end = min((i for i in (text.find("= WARNINGS ="), text.find("= SUMMARY =")) if i > start), default=-1)
        section = text[start:end] if start >= 0 else text[-5000:]
        return "\n".join(line[:300] for line in section.splitlines())

    @property
    def cases(self) -> int:
        """Test cases schemathesis generated (from its summary line)."""
        for line in self.output.splitlines():
            words = line.split()
            if "generated," in words:
                return int(words[words.index("generated,") - 1])
        return 0


def run_schemathesis(server: LiveServer, *, examples: int, seed: int | None, report: Path) -> FuzzRun:
    """Every check, every phase, against every operation of the served document."""
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.trust.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    # Run in the report's directory: schemathesis keeps a cache of its own in the working directory.
    done = subprocess.run(cmd, cwd=report.parent, env=env, capture_output=True, text=True, timeout=3000)
    return FuzzRun(done.returncode, done.stdout + done.stderr)


def main() -> int:
    import tempfile

    from tests.conftest import _pg_state, _postgres_base_url
    from tests.trust.live import fresh_database, start_server

    parser = argparse.ArgumentParser(description="a long schemathesis run against the real server")
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="keep the server logs and reports in this directory")
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep or scratch)
        Path(tmp).mkdir(parents=True, exist_ok=True)
        kinds: list[tuple[str, str | None]] = [("sqlite", None)]
        pg = _postgres_base_url()
        if pg is not None:
            kinds.append(("postgresql", pg))
        for kind, base in kinds:
            for db in fresh_database(kind, base, Path(tmp)):
                server = start_server(db.url, Path(tmp) / f"{kind}.log")
                try:
                    run = run_schemathesis(
                        server, examples=args.examples, seed=args.seed, report=Path(tmp) / f"{kind}.xml"
                    )
                finally:
                    server.stop()
                print(run.output)
                print(f"{kind}: {run.cases} cases, exit {run.returncode}")
                failed |= run.returncode
    if _pg_state["server"] is not None:
        _pg_state["server"].stop()
    return failed


if __name__ == "__main__":
    sys.exit(main())
