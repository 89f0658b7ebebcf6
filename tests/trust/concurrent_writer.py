"""The writer process of tests/trust/test_concurrency.py, in a module of its own that imports httpx and
nothing of the app or the test suite: each writer is a spawned process, which imports the module of
the function it runs. Importing the test module would import the whole app (and pytest) once per
writer, seconds of CPU each that the server under test would then compete with.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import httpx

Outcome = tuple[Counter[str], Counter[tuple[str, int]], list[str]]


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.unexpected: list[str] = []

    def status(self, what: str, code: int, ok: set[int], body: str) -> None:
        with self.lock:
            self.statuses[(what, code)] += 1
            if code not in ok:
                self.unexpected.append(f"{what} {code}: {body[:300]}")


def write(url: str, token: str, records: list[dict[str, Any]], seed: int) -> Outcome:
    """One writer process: send its records in order, as single PUTs and JSON batches of 1 to 40
    chosen by `seed`; return the verdicts and statuses it got."""
    rng = random.Random(seed)
    tally = Tally()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        i = 0
        while i < len(records):
            if rng.random() < 0.25:
                rec = records[i]
                r = http.put(f"/v1/dossiers/{rec['code']}", json=rec)
                tally.status("PUT", r.status_code, {200, 201}, r.text)
                if r.status_code in (200, 201):
                    with tally.lock:
                        tally.results[r.json()["result"]] += 1
                i += 1
                continue
            size = rng.randint(1, 40)
            batch = records[i : i + size]
            r = http.post("/v1/dossiers", json=batch)
            tally.status("POST", r.status_code, {200}, r.text)
            if r.status_code == 200:
                report = r.json()
                with tally.lock:
                    for key in ("created", "updated", "unchanged", "stale", "rejected"):
                        tally.results[key] += report[key]
                    if report["errors"]:
                        tally.unexpected.append(f"rejected records: {report['errors'][:3]}")
            i += size
    return tally.results, tally.statuses, tally.unexpected
