"""`tthc-metrics tokens create|list|revoke`: tokens managed on DATABASE_URL directly, so the first one
needs no admin token; the same rules as `POST/GET/DELETE /v1/tokens` (app/tokens.py)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.config import Settings, get_settings

# The database's and the models' modules are imported by the commands that use them, so registering
# these commands costs `tthc-metrics` nothing.
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.tokens import TokenInfo

PROG = "tthc-metrics"
FIX = (
    "create one with `tthc-metrics tokens create --label NAME --scopes admin` "
    "or set TTHC_ADMIN_TOKEN to a random value of at least 16 characters"
)


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


class DatabaseUnusable(Exception):
    """The database could not be reached or has no tokens table (not migrated yet)."""


@contextmanager
def _engine() -> Iterator[Engine]:
    from sqlalchemy.exc import SQLAlchemyError

    from app.store.engine import make_engine

    engine = make_engine(get_settings().database_url)
    try:
        yield engine
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUnusable(
            f"the database at DATABASE_URL cannot be used ({first}); is it running, and has "
            "`tthc-metrics migrate` been run?"
        ) from exc
    finally:
        engine.dispose()


def _items(values: Sequence[str] | None) -> list[str] | None:
    """Values given space- or comma-separated: `--scopes ingest read` or `--scopes ingest,read`."""
    if values is None:
        return None
    return [v for value in values for v in value.split(",") if v.strip()]


def _when(value: datetime | None, none: str) -> str:
    return none if value is None else value.isoformat(timespec="seconds")


def _describe(info: TokenInfo) -> list[tuple[str, str]]:
    return [
        ("id", info.id),
        ("label", info.label),
        ("scopes", ",".join(info.scopes)),
        ("agencies", "all" if info.agencies is None else ",".join(info.agencies)),
        ("expires_at", _when(info.expires_at, "never")),
    ]


def _field_name(loc: Sequence[int | str]) -> str:
    return "--" + str(loc[0]).replace("_", "-") if loc else "the request"


def cmd_create(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.core.timeutil import utcnow
    from app.store.uow import write_session
    from app.tokens import TokenCreate, create_token

    try:
        body = TokenCreate.model_validate(
            {
                "label": args.label,
                "scopes": _items(args.scopes),
                "agencies": _items(args.agencies),
                "expires_at": args.expires_at,
            }
        )
    except ValidationError as exc:
        for e in exc.errors(include_url=False, include_input=False):
            msg = e["msg"].removeprefix("Value error, ")
            print(f"{PROG} tokens create: {_field_name(e['loc'])}: {msg}", file=sys.stderr)
        return 2
    with _engine() as engine, write_session(engine) as session:
        info, secret = create_token(session, body, utcnow())
    if args.quiet:
        print(secret)
        return 0
    for name, value in [*_describe(info), ("token", secret)]:
        print(f"{name:<11} {value}")
    print("The token is shown this once; keep it now (e.g. `export TTHC_TOKEN=…`).", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from app.store.uow import read_session
    from app.tokens import list_tokens

    with _engine() as engine, read_session(engine) as session:
        infos = list_tokens(session)
    if args.json:
        print(json.dumps([i.model_dump(mode="json") for i in infos], ensure_ascii=False, indent=2))
        return 0
    header = ("id", "label", "scopes", "agencies", "created", "expires", "revoked")
    rows = [
        (
            i.id,
            i.label,
            ",".join(i.scopes),
            "all" if i.agencies is None else ",".join(i.agencies),
            _when(i.created_at, "-"),
            _when(i.expires_at, "never"),
            _when(i.revoked_at, "-"),
        )
        for i in infos
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from app.core.errors import NotFound
    from app.core.timeutil import utcnow
    from app.store.uow import write_session
    from app.tokens import TOKEN_ID_PATTERN, revoke_token

    if re.fullmatch(TOKEN_ID_PATTERN, args.id) is None:
        return _fail(f"tokens revoke: {args.id!r} is not a token id (16 hexadecimal digits)", 2)
    try:
        with _engine() as engine, write_session(engine) as session:
            info, newly = revoke_token(session, args.id, utcnow())
    except NotFound as exc:
        return _fail(f"tokens revoke: {exc}")
    what = "revoked" if newly else "was already revoked"
    print(f"token {info.id} ({info.label}) {what} at {_when(info.revoked_at, '')}")
    return 0


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except DatabaseUnusable as exc:
            return _fail(str(exc))

    return run


def warn_without_tokens(settings: Settings) -> str | None:
    """At start-up: the warning when no token could ever write (no admin token, no usable stored one).

    Returns the line written to stderr, or None. A database that cannot be asked (not migrated, not
    reachable) gets no warning here: serving it fails or migrates on its own terms.
    """
    if settings.admin_token is not None:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    from app.core.timeutil import utcnow
    from app.store.engine import make_engine
    from app.store.uow import read_session
    from app.tokens import usable_tokens

    engine = make_engine(settings.database_url)
    try:
        with read_session(engine) as session:
            if usable_tokens(session, utcnow()) > 0:
                return None
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    line = f"{PROG}: warning: no admin token and no usable stored token: every write will be refused; {FIX}"
    print(line, file=sys.stderr, flush=True)
    return line


def register(sub: Any) -> None:
    tokens = sub.add_parser(
        "tokens",
        help="create, list or revoke API tokens (on DATABASE_URL directly; needs no admin token)",
        description=__doc__,
    )
    actions = tokens.add_subparsers(dest="action", required=True)

    p = actions.add_parser(
        "create",
        help="create a token and print its secret, once",
        description="The fields are those of the POST /v1/tokens body.",
    )
    p.add_argument("--label", required=True, help="who or what uses the token (1-200 characters)")
    p.add_argument(
        "--scopes",
        nargs="+",
        required=True,
        metavar="SCOPE",
        help="ingest, read and/or admin (space- or comma-separated; admin holds every scope)",
    )
    p.add_argument(
        "--agencies",
        nargs="+",
        metavar="CODE",
        help="agency codes the token may write dossiers for (default: every agency)",
    )
    p.add_argument(
        "--expires-at",
        help="ISO 8601 timestamp; without an offset it is Vietnam time (default: never expires)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only the secret: export TTHC_TOKEN=$(…)")
    p.set_defaults(func=_guarded(cmd_create))

    p = actions.add_parser("list", help="list the tokens (never their secrets)")
    p.add_argument("--json", action="store_true", help="print the list as GET /v1/tokens answers it")
    p.set_defaults(func=_guarded(cmd_list))

    p = actions.add_parser("revoke", help="revoke a token at once")
    p.add_argument("id", help="the token's id (16 hexadecimal digits, as `tokens list` shows)")
    p.set_defaults(func=_guarded(cmd_revoke))
