"""Contract fuzzing with schemathesis against the real server's served document.

`make test` runs a bounded, seeded pass (tests/trust/test_contract_fuzz.py); `make fuzz` runs
`python -m tests.trust.fuzz` with many more examples per operation, a fresh seed, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT
from tests.trust.live import ADMIN_TOKEN, LiveServer

HERE = Path(__file__).resolve().parent
# A phase's block in schemathesis's output: " ✅  Coverage (in 97.93s)", then " ✅ 50 passed" a few lines on.
_PHASE_SUMMARY = re.compile(
    r"^\W*(?P<phase>Examples|Coverage|Fuzzing|Stateful) \(in (?P<seconds>[0-9.]+)s\)\n"
    r"(?:.*\n)*?.*?(?P<passed>\d+) passed",
    re.MULTILINE,
)


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
    def phases(self) -> dict[str, tuple[float, int]]:
        """Each phase that ran: its seconds, and the operations (stateful: scenarios) it passed."""
        return {
            m["phase"]: (float(m["seconds"]), int(m["passed"])) for m in _PHASE_SUMMARY.finditer(self.output)
        }

    @property
    def cases(self) -> int:
        """Test cases schemathesis generated (from its summary line)."""
        for line in self.output.splitlines():
            words = line.split()
            if "generated," in words:
                return int(words[words.index("generated,") - 1])
        return 0


PHASES = ("examples", "coverage", "fuzzing", "stateful")


def run_schemathesis(
    server: LiveServer,
    *,
    examples: int,
    seed: int | None,
    report: Path,
    phases: tuple[str, ...] = PHASES,
    whole_coverage: bool = False,
    stateful_examples: int | None = None,
) -> FuzzRun:
    """Every check against every operation of the served document, in the phases given (all by default).

    `examples` bounds the fuzzing phase's cases per operation, `stateful_examples` (default `examples`)
    the stateful phase's sequences; the coverage phase sends one case of each kind it derives from the
    schema (tests/trust/schemathesis_hooks.py), or every case it derives with `whole_coverage`.
    """
    # Each phase's budget goes in the configuration: `--max-examples` would set both phases' at once.
    config = report.parent / "schemathesis.toml"
    config.write_text(
        (HERE / "schemathesis.toml").read_text()
        + f"\n[phases.fuzzing.generation]\nmax-examples = {examples}\n"
        + f"\n[phases.stateful.generation]\nmax-examples = {stateful_examples or examples}\n"
    )
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--workers",
        "1",
        "--phases",
        ",".join(phases),
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.trust.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
        "TTHC_FUZZ_COVERAGE": "all" if whole_coverage else "one-of-each",
    }
    # Run in the report's directory: schemathesis keeps a cache of its own in the working directory.
    done = subprocess.run(cmd, cwd=report.parent, env=env, capture_output=True, text=True, timeout=3000)
    return FuzzRun(done.returncode, done.stdout + done.stderr)


def main() -> int:
    import tempfile

    from tests.conftest import _pg_state, _postgres_base_url
    from tests.trust.live import fresh_database, start_server

    parser = argparse.ArgumentParser(description="a long schemathesis run against the real server")
    parser.add_argument(
        "--examples", type=int, default=300, help="fuzzing cases an operation, stateful sequences (300)"
    )
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: a fresh one)")
    parser.add_argument("--keep", type=Path, help="keep the server logs and reports in this directory")
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated phases to run (default: all, {','.join(PHASES)})",
    )
    parser.add_argument(
        "--one-of-each",
        action="store_true",
        help="send one coverage case of each kind, as make test does (default: every case the phase derives)",
    )
    args = parser.parse_args()
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    if not phases or set(phases) - set(PHASES):
        parser.error(f"--phases takes a comma-separated list of {', '.join(PHASES)}")
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
                        server,
                        examples=args.examples,
                        seed=args.seed,
                        report=Path(tmp) / f"{kind}.xml",
                        phases=phases,
                        whole_coverage=not args.one_of_each,
                    )
                finally:
                    server.stop()
                print(run.output)
                print(f"{kind}: {run.cases} cases, exit {run.returncode}; phases (s, passed): {run.phases}")
                failed |= run.returncode
    if _pg_state["server"] is not None:
        _pg_state["server"].stop()
    return failed


if __name__ == "__main__":
    sys.exit(main())
