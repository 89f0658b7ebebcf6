"""The stored tables: dossiers, their rollups, reference data, tokens, audit, targets."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.counters import COUNTERS
from app.core.index_counters import INDEX_COUNTERS
from app.models.base import Base, UTCDateTime, metadata


class Dossier(Base):
    """One dossier (hồ sơ), the latest version the source sent, with the local dates derived from it."""

    __tablename__ = "dossiers"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(32))
    procedure_name: Mapped[str | None] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(String(64))
    agency_code: Mapped[str] = mapped_column(String(64))
    commune_code: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    online_level: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(32))
    fee_required: Mapped[bool] = mapped_column(Boolean)
    paid_online: Mapped[bool] = mapped_column(Boolean)
    digitised_intake: Mapped[bool] = mapped_column(Boolean)
    digitised_result: Mapped[bool] = mapped_column(Boolean)
    reused_digital_data: Mapped[bool] = mapped_column(Boolean)
    apology_issued: Mapped[bool] = mapped_column(Boolean)
    rating: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The national index's inputs (NATIONAL_INDEX.md): supplement requests as canonical JSON
    # ([{"requested_at", "supplied_at"}], instants in UTC; null when there are none) and three flags.
    supplements: Mapped[str | None] = mapped_column(Text)
    complaint: Mapped[bool] = mapped_column(Boolean, server_default=false())
    population_data: Mapped[bool] = mapped_column(Boolean, server_default=false())
    from_personal_store: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Derived at ingest, so that reads and rollup upkeep never recompute them.
    received_date: Mapped[date] = mapped_column(Date)
    close_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    # §4.1's class of a closed (finished or withdrawn) dossier: 1 early, 2 on time, 3 late; null while open.
    finish_class: Mapped[int | None] = mapped_column(SmallInteger)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Rule 2.1 of the national index, derived at ingest from the record, the procedure catalogue and
    # the working-day calendar (app.core.index_derive), and re-derived when those change.
    idx_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # national end; null = open
    idx_end_date: Mapped[date | None] = mapped_column(Date)
    idx_class: Mapped[int] = mapped_column(SmallInteger, server_default="0")  # IndexClass
    idx_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # effective deadline
    idx_late_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # open: late after this instant
    idx_late_date: Mapped[date | None] = mapped_column(Date)  # open: first day at whose end it is late
    idx_work_days: Mapped[int | None] = mapped_column(Integer)  # 2.2: working days to the end
    idx_catalogued: Mapped[bool] = mapped_column(Boolean, server_default=false())
    idx_eligible: Mapped[bool] = mapped_column(Boolean, server_default=false())
    idx_full_online: Mapped[bool] = mapped_column(Boolean, server_default=false())
    idx_electronic: Mapped[bool] = mapped_column(Boolean, server_default=false())
    idx_digitised: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The reference revision it was derived at; -1: never derived (stored before the index existed),
    # which counts in no index rollup until it is.
    idx_rev: Mapped[int] = mapped_column(Integer, server_default="-1")

    __table_args__ = (
        Index("ix_dossiers_received_date", "received_date"),
        Index("ix_dossiers_close_date", "close_date"),
        Index("ix_dossiers_due_date", "due_date"),
        Index("ix_dossiers_agency_code", "agency_code"),
        Index("ix_dossiers_procedure_code", "procedure_code"),
        Index("ix_dossiers_idx_end_date", "idx_end_date"),
        Index("ix_dossiers_idx_late_date", "idx_late_date"),
    )


# The worklists' period kinds (app.worklists.service): partial indexes that hold only the dossiers a
# kind can list, so that its counts and pages read those, not every dossier of the period. The queries
# use these very predicates, so that both stores see that the index applies.
_dossiers = Dossier.__table__
# A dossier's deadline (app.core.worklist.deadline_of): due_at, else the national deadline derived
# from the catalogue.
DEADLINE = func.coalesce(_dossiers.c.due_at, _dossiers.c.idx_deadline_at)
WL_UNPAID = and_(_dossiers.c.fee_required.is_(True), _dossiers.c.paid_online.is_(False))
WL_NO_RESULT = and_(_dossiers.c.digitised_result.is_(False), _dossiers.c.close_date.is_not(None))
WL_LATE_UNAPOLOGISED = and_(
    _dossiers.c.apology_issued.is_(False),
    _dossiers.c.resolved_at > DEADLINE,
)
Index(
    "ix_dossiers_wl_unpaid",
    _dossiers.c.received_date,
    _dossiers.c.agency_code,
    _dossiers.c.commune_code,
    _dossiers.c.fee_required,
    _dossiers.c.paid_online,
    sqlite_where=WL_UNPAID,
    postgresql_where=WL_UNPAID,
)
Index(
    "ix_dossiers_wl_no_result",
    _dossiers.c.close_date,
    _dossiers.c.agency_code,
    _dossiers.c.commune_code,
    _dossiers.c.procedure_code,
    _dossiers.c.status,
    _dossiers.c.digitised_result,
    sqlite_where=WL_NO_RESULT,
    postgresql_where=WL_NO_RESULT,
)
Index(
    "ix_dossiers_wl_late",
    _dossiers.c.close_date,
    _dossiers.c.agency_code,
    _dossiers.c.commune_code,
    _dossiers.c.status,
    sqlite_where=WL_LATE_UNAPOLOGISED,
    postgresql_where=WL_LATE_UNAPOLOGISED,
)


# Rollups: one row per (cube, grain, period, dimension keys). A cube keeps a subset of the
# dimensions (the others hold ""), a grain is day (0), month (1) or year (2) and `period` is the
# first day of it. Every column after the keys is an additive counter (app.core.counters).
rollups = Table(
    "rollups",
    metadata,
    Column("cube", SmallInteger, primary_key=True),
    Column("grain", SmallInteger, primary_key=True),
    Column("period", Date, primary_key=True),
    Column("agency", String(64), primary_key=True),
    Column("commune", String(16), primary_key=True),
    Column("sector", String(64), primary_key=True),
    Column("procedure", String(32), primary_key=True),
    Column("channel", String(16), primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in COUNTERS),
    sqlite_with_rowid=False,
)

# Every dimension key of the full cube that has had a dossier, with the first day it counts from:
# a small table (one row per agency x commune x sector x procedure x channel seen), so a metrics
# query can bound its answer's rows before computing it. Rows are only ever added or moved earlier,
# so a count over it is an upper bound on the keys present in a range.
rollup_keys = Table(
    "rollup_keys",
    metadata,
    Column("agency", String(64), primary_key=True),
    Column("commune", String(16), primary_key=True),
    Column("sector", String(64), primary_key=True),
    Column("procedure", String(32), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("first_day", Date, nullable=False),
    sqlite_with_rowid=False,
)


# The national index's rollups (app.core.index_counters), kept like `rollups`: cube 0 is agency, cube 1
# commune (the dossier's ward), each by day, month and year; cube 2 is agency x procedure by month.
index_rollups = Table(
    "index_rollups",
    metadata,
    Column("cube", SmallInteger, primary_key=True),
    Column("grain", SmallInteger, primary_key=True),
    Column("period", Date, primary_key=True),
    Column("agency", String(64), primary_key=True),
    Column("commune", String(16), primary_key=True),
    Column("procedure", String(32), primary_key=True),
    *(Column(name, Integer, nullable=False, server_default="0") for name in INDEX_COUNTERS),
    sqlite_with_rowid=False,
)


class IndexRuleSet(Base):
    """A rule set of the national index added by an admin (the shipped ones are files of the code)."""

    __tablename__ = "index_rule_sets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)  # the rule set as JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(32))


class IndexDeclared(Base):
    """A declared indicator value: for a period (YYYY-MM, YYYY-Qn or YYYY), the province or one agency."""

    __tablename__ = "index_declared"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)  # "province" or an agency code
    indicator: Mapped[str] = mapped_column(String(8), primary_key=True)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    ratio: Mapped[float | None] = mapped_column(Float)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str | None] = mapped_column(String(32))


class IndexJob(Base):
    """A re-derivation of the national index over the stored dossiers (never two running at once)."""

    __tablename__ = "index_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16))  # running | done | failed
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    target_rev: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(32))


class Agency(Base):
    """A registered agency (cơ quan giải quyết): a provincial department or a commune People's Committee."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    commune_code: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SectorMapping(Base):
    """The national portal's procedure-field code (MaLinhVuc) mapped to a sector slug."""

    __tablename__ = "sector_mappings"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Procedure(Base):
    """A procedure of the catalogue (thủ tục hành chính), keyed by its code in the national procedure
    database: its name, sector, level, legal maximum duration and the flags the national index reads."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    sector: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    # The legal maximum: both null, or a positive count and its unit (working_days, days, hours, months).
    max_duration_value: Mapped[int | None] = mapped_column(Integer)
    max_duration_unit: Mapped[str | None] = mapped_column(String(16))
    paper_result: Mapped[bool] = mapped_column(Boolean, server_default=false())
    fee: Mapped[bool] = mapped_column(Boolean, server_default=false())
    full_online_eligible: Mapped[bool] = mapped_column(Boolean, server_default=false())
    full_online_offered: Mapped[bool] = mapped_column(Boolean, server_default=false())
    online_payment_integrated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token; only the SHA-256 of its secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text)  # comma-separated
    agencies: Mapped[str | None] = mapped_column(Text)  # JSON list, or null for every agency
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One write request: who, what it did, how long it took. Never a record's values."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    token_id: Mapped[str | None] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int] = mapped_column(Integer)
    counts: Mapped[str | None] = mapped_column(Text)  # JSON object of the result counts
    duration_ms: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class RefusedRequests(Base):
    """Write requests refused with 401 or 403, counted per token (or none), day and status."""

    __tablename__ = "refused_requests"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" when no token was recognised
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class FeedQualityCount(Base):
    """The quality of the feed: rejected records per reason, and accepted versions' warnings and bases
    (app/core/feed_rules.py), counted per local day, token and agency (a registered one, or `unknown`)."""

    __tablename__ = "feed_quality_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" when written without a token
    agency_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # rejected | warning | base
    field: Mapped[str] = mapped_column(String(100), primary_key=True)
    rule: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class FeedQualityExample(Base):
    """The latest dossier codes seen per reason (or warning) and agency, a few per key."""

    __tablename__ = "feed_quality_examples"

    agency_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    field: Mapped[str] = mapped_column(String(100), primary_key=True)
    rule: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Target(Base):
    """An administrator's override of one named target for one year (contract §4 scorecard), over the
    built-in target set that year uses; names without a row keep the set's target."""

    __tablename__ = "targets"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    comparator: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)


class DataState(Base):
    """A single row whose version changes with every write that can change a figure (ETags)."""

    __tablename__ = "data_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Moves when rollup_keys gains a key or a key's first day moves back (row bounds memoised on it).
    keys_version: Mapped[int] = mapped_column(Integer, server_default="0")
    # The last `tthc-metrics rollups verify`: when it ran and how many rollup rows differed.
    rollups_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rollups_verify_differences: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Moves with every change of the procedure catalogue or the working-day calendar; `index_rev` is
    # the revision every stored dossier's index derivation is known to follow.
    reference_rev: Mapped[int] = mapped_column(Integer, server_default="0")
    index_rev: Mapped[int] = mapped_column(Integer, server_default="0")


class CalendarDay(Base):
    """A province's own exception to the national working-day calendar for one day.

    `working` true is a make-up working day (e.g. a Saturday worked to bridge a holiday); false is a
    day off the province declared. Weekends and public holidays come from the pure core's calendar.
    """

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)


# --- Closed periods (chốt số liệu) and the dossiers' history they are restated against ---------------


class DossierHistory(Base):
    """One change of a dossier, in the order changes were committed (`id`): a creation (kind 0, no
    version fields), or the version an update replaced (kind 1) or a deletion removed (kind 2), keeping
    only the fields that classify a dossier for the periodic report. Written in the ingest's
    transaction; a restatement reads only the rows after a closing's `history_mark`."""

    __tablename__ = "dossier_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[int] = mapped_column(SmallInteger)  # 0 created, 1 updated, 2 deleted
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the change arrived
    # The replaced or removed version (null for a creation): when it arrived, and its classifying fields.
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agency_code: Mapped[str | None] = mapped_column(String(64))
    commune_code: Mapped[str | None] = mapped_column(String(16))
    sector: Mapped[str | None] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finish_class: Mapped[int | None] = mapped_column(SmallInteger)


class ReportClosing(Base):
    """A closed period (chốt): the periodic report as filed, never changed, superseded by a newer one."""

    __tablename__ = "report_closings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7))
    basis: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(16))
    filters: Mapped[str] = mapped_column(Text)  # the checked filters as canonical JSON ("{}": none)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(32))  # the id of the admin token
    data_version: Mapped[int] = mapped_column(Integer)
    history_mark: Mapped[int] = mapped_column(Integer)  # the last dossier_history id it includes
    reference: Mapped[str] = mapped_column(Text)  # JSON {agency code: [name, level]} it used
    size: Mapped[int] = mapped_column(Integer)  # bytes of its files together

    __table_args__ = (Index("ix_report_closings_period", "period", "basis", "unit", "id"),)


class ReportClosingFile(Base):
    """The bytes of a closing in one format and CSV dialect ("" for the default or none)."""

    __tablename__ = "report_closing_files"

    closing_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    format: Mapped[str] = mapped_column(String(8), primary_key=True)
    dialect: Mapped[str] = mapped_column(String(16), primary_key=True)
    media_type: Mapped[str] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)


# --- Early warning: webhook subscriptions, their deliveries, and the job runner's lease -------------


class WebhookSubscription(Base):
    """A receiver of the daily digest: where, which lists, which part of the province, and the secret
    that signs it (kept as given, since it must be read to sign; see docs/API.md)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(Text)
    kinds: Mapped[str] = mapped_column(Text)  # comma-separated worklist kinds
    scope: Mapped[str] = mapped_column(Text)  # canonical JSON {agency, commune, sector}: lists or absent
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The local day of the last digest queued (or, for a new subscription, of the last digest time
    # passed before it was made): the next is queued once the digest time of a later day has passed.
    last_digest_day: Mapped[date] = mapped_column(Date)


class WebhookDelivery(Base):
    """One digest to one subscription: its exact body, kept until delivered or given up, and its attempts."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # pending only
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )


class WebhookSent(Base):
    """A dossier listed to a subscription under a kind: never listed there again under that kind."""

    __tablename__ = "webhook_sent"

    subscription_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(Integer)


class JobLease(Base):
    """Who runs the jobs now, until when (SQLite; PostgreSQL takes an advisory lock instead)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
