"""The national index's additive daily counters (Decision 766, rule 2.1), and the classes a stored
dossier version is derived into. Pure: no database and no web imports.

A dossier enters the index's universe on the local date of its receipt (`in_` counters) and leaves
it on the local date of its national end of processing (`out_` counters, rule 2.1's end). A unit's
"handled" dossiers for a period [S, E] are those whose end falls in [S, E] plus those still in
processing at the end of E, so for any attribute A:

    handled_A = sum(out_A over [S, E]) + sum(in_A - out_A over every day <= E)

The dossiers in processing and late at the end of E are sum(due_ - due_closed_ over every day <= E):
a dossier adds to `due_` on the first day at whose end it is late (`late_date`) unless it ended by
then, and to `due_closed_` on the day it ended when that is later. Ended dossiers carry their class.
"""

from __future__ import annotations

from enum import IntEnum


class IndexClass(IntEnum):
    """A dossier's class under rule 2.1, derived at ingest and kept on the stored version."""

    UNJUDGED = 0  # no due_at and no catalogue duration (ended or open): out of 2.1
    ON_TIME = 1  # ended no later than its effective deadline (early or on time)
    OPEN = 2  # in processing: on time until its late instant (idx_late_at), late after it
    LATE = 3  # ended after its effective deadline


# The attributes counted both on entry and on exit, so that their open part is a difference.
UNIVERSE_ATTRIBUTES = (
    "n",  # every dossier
    "unjudged",  # class UNJUDGED
    "uncatalogued",  # its procedure is not in the catalogue
    "eligible",  # its procedure is eligible for full-online service (3.0's denominator)
    "full_online",  # eligible and full-online (3.0's numerator)
    "electronic",  # digitised_result and the procedure has paper_result (4.1)
    "digitised",  # digitised_intake, and digitised_result when the procedure has paper_result (4.2)
    "reused",  # reused_digital_data (4.3)
    "personal_store",  # from_personal_store (4.4)
    "population",  # population_data (4.5a)
    "complaint",  # complaint (5.4)
)
IN_COUNTERS = tuple(f"in_{a}" for a in UNIVERSE_ATTRIBUTES)
OUT_COUNTERS = tuple(f"out_{a}" for a in UNIVERSE_ATTRIBUTES)
# Keyed by the local date of receipt: 3.6a's flows, and 2.2's finished dossiers with their working days.
RECEIVED_ONLY_COUNTERS = ("rcv_fee", "rcv_paid", "fin_n", "fin_work_days")
# Keyed by the end date: how ended dossiers ended.
ENDED_COUNTERS = ("out_on_time", "out_late", "out_late_complaint")
# Keyed by the late date of dossiers still in processing then; and by the end date of those of them
# that ended later.
DUE_COUNTERS = ("due_n", "due_complaint", "due_closed_n", "due_closed_complaint")

INDEX_COUNTERS: tuple[str, ...] = (
    IN_COUNTERS + OUT_COUNTERS + RECEIVED_ONLY_COUNTERS + ENDED_COUNTERS + DUE_COUNTERS
)
