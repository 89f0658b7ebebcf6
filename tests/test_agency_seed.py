"""The agency seed: national-shape unit codes with the province's suffix, only into an empty registry."""

from __future__ import annotations

from sqlalchemy import Engine, func, select, text

from app.core.timeutil import utcnow
from app.models import Agency
from app.reference.agencies import load_seed, seed_agencies
from app.store.uow import write_session


def _codes(engine: Engine) -> set[str]:
    with write_session(engine) as session:
        return set(session.scalars(select(Agency.code)))


def test_departments_carry_the_province_suffix() -> None:
    departments = [a for a in seed_agencies(40) if a.level == "province"]
    assert len(departments) == 16
    assert departments[0].code == "000.00.01.H41"
    assert departments[6].code == "000.00.07.H41" and departments[6].name == "Sở Xây dựng"
    # A setting per province replaces the file's suffix.
    assert [a.code for a in seed_agencies(40, unit_suffix="H99") if a.level == "province"][15] == (
        "000.00.16.H99"
    )
    communes = [a for a in seed_agencies(40) if a.level == "commune"]
    assert len(communes) == 130 and all(a.code.startswith("UBND-") for a in communes)


def test_seed_fills_only_an_empty_registry(engine: Engine) -> None:
    with write_session(engine) as session:
        session.execute(text("DELETE FROM agencies"))
    with write_session(engine) as session:
        assert load_seed(session, 40) == 146
    assert len(_codes(engine)) == 146
    with write_session(engine) as session:
        assert load_seed(session, 40) == 0
    # A registry made with other codes keeps them and gains no second set.
    with write_session(engine) as session:
        session.execute(text("DELETE FROM agencies"))
        session.add(Agency(code="000.00.07.H40", name="Sở Xây dựng", level="province", updated_at=utcnow()))
    with write_session(engine) as session:
        assert load_seed(session, 40, unit_suffix="H41") == 0
        assert session.scalar(select(func.count()).select_from(Agency)) == 1
    assert _codes(engine) == {"000.00.07.H40"}
