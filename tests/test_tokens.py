"""Contract §6: tokens with scopes, agency limits and expiry, stored hashed; 401 and 403."""

from __future__ import annotations

import hashlib
import random
import string
from datetime import timedelta
from typing import Any

import pydantic
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.config import Settings
from app.core.placeholders import secret_weakness
from app.tokens import new_secret
from tests.conftest import ADMIN_TOKEN, Clock
from tests.factory import AGENCY, OTHER_AGENCY, rec
from tests.ingesting import app_client, counts, new_token, post, stored, with_token

FORBIDDEN = {
    "loc": ["agency_code"],
    "msg": "the token may not write dossiers of this agency",
    "type": "forbidden",
}
V2 = "2025-07-09T10:00:00+07:00"


def assert_problem(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == status
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")


# --- the token API --------------------------------------------------------------------------------


def test_a_created_token_is_returned_once_and_works(client: TestClient) -> None:
    r = client.post("/v1/tokens", json={"label": "one-stop", "scopes": ["ingest"], "agencies": None})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "token"}
    writer = with_token(client, body["token"])
    assert writer.post("/v1/dossiers", json=[rec()]).json()["created"] == 1


def test_the_token_list_carries_no_secret(client: TestClient) -> None:
    secret = new_token(client, ["ingest", "read"], [AGENCY], expires_at="2026-01-01T00:00:00+07:00")
    r = client.get("/v1/tokens")
    assert r.status_code == 200
    assert secret not in r.text
    assert hashlib.sha256(secret.encode()).hexdigest() not in r.text
    [info] = r.json()
    assert {k: v for k, v in info.items() if k not in {"id"}} == {
        "label": "test",
        "scopes": ["ingest", "read"],
        "agencies": [AGENCY],
        "expires_at": "2026-01-01T00:00:00+07:00",
        "created_at": "2025-10-01T08:00:00+07:00",
        "revoked_at": None,
    }


def test_the_tokens_table_holds_only_a_hash_of_the_secret(client: TestClient, engine: Engine) -> None:
    secret = new_token(client, ["ingest"])
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM api_tokens"))]
    assert len(rows) == 1
    assert not any(secret in str(v) or secret[5:] in str(v) for v in rows[0].values())
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()


def test_tokens_are_managed_by_admins_only(client: TestClient, anon: TestClient) -> None:
    body = {"label": "x", "scopes": ["read"]}
    assert_problem(anon.post("/v1/tokens", json=body), 401)
    ingest = with_token(client, new_token(client, ["ingest"]))
    assert_problem(ingest.post("/v1/tokens", json=body), 403)
    assert_problem(ingest.get("/v1/tokens"), 403)
    admin = with_token(client, new_token(client, ["admin"]))
    assert admin.post("/v1/tokens", json=body).status_code == 201


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"label": "x", "scopes": ["write"]}, ["body", "scopes", 0]),
        ({"label": "x", "scopes": []}, ["body", "scopes"]),
        ({"label": "", "scopes": ["read"]}, ["body", "label"]),
        ({"label": "x", "scopes": ["read"], "agencies": ["bad code"]}, ["body", "agencies", 0]),
        ({"label": "x", "scopes": ["read"], "expires_at": "soon"}, ["body", "expires_at"]),
        ({"label": "x", "scopes": ["read"], "owner": "me"}, ["body", "owner"]),
    ],
)
def test_an_invalid_token_request_is_422_naming_the_field(
    client: TestClient, body: dict[str, Any], loc: list[Any]
) -> None:
    r = client.post("/v1/tokens", json=body)
    assert_problem(r, 422)
    assert [e["loc"] for e in r.json()["errors"]] == [loc]


def test_a_revoked_token_is_refused_at_once(client: TestClient) -> None:
    secret = new_token(client, ["ingest"])
    token_id = client.get("/v1/tokens").json()[0]["id"]
    writer = with_token(client, secret)
    assert writer.post("/v1/dossiers", json=[rec()]).status_code == 200
    assert client.delete(f"/v1/tokens/{token_id}").status_code == 204
    r = writer.post("/v1/dossiers", json=[rec("D-2")])
    assert_problem(r, 401)
    assert r.json()["detail"] == "The token has been revoked."
    assert client.get("/v1/tokens").json()[0]["revoked_at"] == "2025-10-01T08:00:00+07:00"


def test_revoking_an_unknown_token_is_404(client: TestClient) -> None:
    assert_problem(client.delete("/v1/tokens/0123456789abcdef"), 404)


def test_a_token_expires_at_its_expiry(client: TestClient, clock: Clock) -> None:
    # Written without an offset: Vietnam time, i.e. 02:00Z.
    writer = with_token(client, new_token(client, ["ingest"], expires_at="2025-10-01T09:00:00"))
    assert writer.post("/v1/dossiers", json=[rec("D-1")]).status_code == 200
    clock.now += timedelta(minutes=59, seconds=59)
    assert writer.post("/v1/dossiers", json=[rec("D-2")]).status_code == 200
    clock.now += timedelta(seconds=1)
    r = writer.post("/v1/dossiers", json=[rec("D-3")])
    assert_problem(r, 401)
    assert r.json()["detail"] == "The token has expired."


# --- scopes ---------------------------------------------------------------------------------------


def test_writes_need_a_token(anon: TestClient) -> None:
    assert_problem(anon.post("/v1/dossiers", json=[rec()]), 401)
    assert_problem(anon.put("/v1/dossiers/D-1", json=rec()), 401)
    assert_problem(anon.delete("/v1/dossiers/D-1"), 401)


def test_a_read_token_cannot_write(client: TestClient) -> None:
    reader = with_token(client, new_token(client, ["read"]))
    assert_problem(reader.post("/v1/dossiers", json=[rec()]), 403)
    assert_problem(reader.put("/v1/dossiers/D-1", json=rec()), 403)
    assert client.get("/v1/dossiers/D-1").status_code == 404


def test_an_ingest_token_cannot_administer(client: TestClient) -> None:
    writer = with_token(client, new_token(client, ["ingest"]))
    post(client, [rec()])
    assert_problem(writer.delete("/v1/dossiers/D-1"), 403)
    assert_problem(writer.get("/v1/audit"), 403)
    body = {"name": "Sở Mới", "level": "province", "commune_code": None}
    assert_problem(writer.put("/v1/agencies/000.00.99.H41", json=body), 403)


def test_the_environment_admin_token_has_every_scope(client: TestClient) -> None:
    assert client.post("/v1/dossiers", json=[rec()]).status_code == 200
    assert client.get("/v1/tokens").status_code == 200
    assert client.delete("/v1/dossiers/D-1").status_code == 204


def test_the_admin_token_works_only_when_configured(engine: Engine, clock: Clock) -> None:
    with app_client(engine, clock, TTHC_ADMIN_TOKEN=None) as c:
        assert_problem(c.post("/v1/dossiers", json=[rec()]), 401)


@pytest.mark.parametrize("weak", ["changeme", "admin", "short-token", "changeme-changeme-changeme"])
def test_a_weak_admin_token_is_refused_at_startup(weak: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Settings(TTHC_ADMIN_TOKEN=weak)
    [error] = caught.value.errors()
    assert error["loc"] == ("TTHC_ADMIN_TOKEN",)
    assert weak not in error["msg"]  # the value is a secret, however weak


REPEATED = "is a placeholder (one character or one group repeated)"
RUN = "is a placeholder (a run of consecutive characters)"
WORDS = "is a placeholder (made of words such as changeme, secret, password, admin, token, example)"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("changeme", "is shorter than 16 characters"),
        ("fifteen-chars-x", "is shorter than 16 characters"),
        ("aaaaaaaaaaaaaaaa", REPEATED),
        ("changeme-changeme-changeme", REPEATED),
        ("abcabcabcabcabcabc", REPEATED),
        ("xxxxxxxxxxxxxxxxxxxxxxxx", REPEATED),
        ("XXXX-XXXX-XXXX-XXXX", REPEATED),
        ("Test_Test_Test_Test", REPEATED),
        ("deadbeefdeadbeef", REPEATED),
        ("----------------", "is a placeholder (it has no letters or digits)"),
        ("abcdefghijklmnop", RUN),
        ("1234567890123456", RUN),
        ("ZYXWVUTSRQPONMLK", RUN),
        ("CHANGEME_PLEASE_NOW", WORDS),
        ("my-secret-password", WORDS),
        ("SuperSecretPassword", WORDS),
        ("admin_token_2025", WORDS),
        ("your-token-here-xxxx", WORDS),
        ("example.secret.value", WORDS),
        ("tthc-admin-token-here", WORDS),
        ("test-token-12345678", WORDS),
        ("replace with real token", WORDS),
        ("mat-khau-bi-mat-2025", WORDS),  # separators are ignored: matkhau, bimat, 2025
        ("Mật khẩu bí mật 2025", WORDS),  # diacritics too
        # Real secrets, and values with a placeholder word inside something else.
        ("test-admin-token-0123456789abcdef", None),
        ("tthc_boHQYm04kiCmzkO0q09Df9NII3k9-YnH2cX-3tZVEo0", None),
        ("5f0c2b9e8a7d4c3b", None),
        ("Zq8v1xK3mP0rT7wY2bN5cH9", None),
        ("correct horse battery staple", None),
        ("secret-sauce-of-nghe-an-2025", None),
        ("1234567890123457", None),
    ],
)
def test_obvious_placeholders_are_refused_as_whole_values(value: str, reason: str | None) -> None:
    assert secret_weakness(value) == reason


def test_random_secrets_are_never_taken_for_placeholders() -> None:
    # Seeded, so the same 6,000 values every run: hex and URL-safe, of the lengths people generate.
    rng = random.Random(14)
    alphabets = ("0123456789abcdef", string.ascii_letters + string.digits + "-_")
    values = [
        "".join(rng.choice(alphabet) for _ in range(size))
        for alphabet in alphabets
        for size in (16, 24, 32, 43, 64)
        for _ in range(600)
    ]
    assert [v for v in values if secret_weakness(v) is not None] == []
    assert [v for v in (new_secret() for _ in range(1000)) if secret_weakness(v) is not None] == []


# --- agency limits, per record --------------------------------------------------------------------


def test_a_limited_token_writes_only_its_agencies(client: TestClient) -> None:
    writer = with_token(client, new_token(client, ["ingest"], [AGENCY]))
    report = post(writer, [rec("A-1"), rec("A-2", agency_code=OTHER_AGENCY), rec("A-3")])
    assert counts(report) == {
        "received": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "rejected": 1,
    }
    assert report["errors"] == [{"index": 1, "code": "A-2", "errors": [FORBIDDEN]}]
    assert client.get("/v1/dossiers/A-2").status_code == 404


def test_a_limited_token_cannot_update_a_dossier_stored_under_another_agency(client: TestClient) -> None:
    post(client, [rec("D-1", agency_code=OTHER_AGENCY)])
    writer = with_token(client, new_token(client, ["ingest"], [AGENCY]))
    # The new version names the token's agency, but the stored one belongs to another.
    report = post(writer, [rec("D-1", agency_code=AGENCY, updated_at=V2)])
    assert report["errors"] == [{"index": 0, "code": "D-1", "errors": [FORBIDDEN]}]
    assert stored(client, "D-1")["agency_code"] == OTHER_AGENCY
    r = writer.put("/v1/dossiers/D-1", json=rec("D-1", agency_code=AGENCY, updated_at=V2))
    assert_problem(r, 403)


def test_a_limited_token_cannot_move_its_dossier_to_another_agency(client: TestClient) -> None:
    writer = with_token(client, new_token(client, ["ingest"], [AGENCY]))
    post(writer, [rec("D-1")])
    report = post(writer, [rec("D-1", agency_code=OTHER_AGENCY, updated_at=V2)])
    assert report["errors"] == [{"index": 0, "code": "D-1", "errors": [FORBIDDEN]}]
    assert stored(client, "D-1")["agency_code"] == AGENCY


def test_validation_comes_before_the_agency_check(client: TestClient) -> None:
    writer = with_token(client, new_token(client, ["ingest"], [AGENCY]))
    report = post(writer, [rec(agency_code=OTHER_AGENCY, channel="fax")])
    assert [e["type"] for e in report["errors"][0]["errors"]] == ["literal_error"]


def test_the_agency_check_comes_before_the_version(client: TestClient) -> None:
    post(client, [rec("D-1", agency_code=OTHER_AGENCY, updated_at=V2)])
    writer = with_token(client, new_token(client, ["ingest"], [AGENCY]))
    # Stale, unchanged or conflicting: each is forbidden first.
    report = post(
        writer,
        [
            rec("D-1", agency_code=OTHER_AGENCY),
            rec("D-1", agency_code=OTHER_AGENCY, updated_at=V2),
            rec("D-1", agency_code=OTHER_AGENCY, updated_at=V2, sector="ho_tich"),
        ],
    )
    assert (report["rejected"], report["stale"], report["unchanged"]) == (3, 0, 0)
    assert [e["errors"] for e in report["errors"]] == [[FORBIDDEN]] * 3


# --- reads ----------------------------------------------------------------------------------------

READS = (
    "/v1/dossiers",
    "/v1/dossiers/D-1",
    "/v1/metrics?from=2025-07-01&to=2025-07-31",
    "/v1/metrics/definitions",
    "/v1/agencies",
    "/v1/communes",
)


def test_reads_are_open_by_default(client: TestClient, anon: TestClient) -> None:
    post(client, [rec()])
    assert [anon.get(p).status_code for p in READS] == [200] * len(READS)


def test_reads_need_a_read_token_when_configured(engine: Engine, clock: Clock) -> None:
    with app_client(engine, clock, TTHC_READ_REQUIRES_TOKEN=True) as admin:
        post(admin, [rec()])
        anon = TestClient(admin.app, base_url="http://testserver")
        reader = with_token(admin, new_token(admin, ["read"]))
        writer = with_token(admin, new_token(admin, ["ingest"]))
        for path in READS:
            assert_problem(anon.get(path), 401)
            assert_problem(writer.get(path), 403)
            assert reader.get(path).status_code == 200
            assert admin.get(path).status_code == 200
        # Probes stay open: orchestrators call them without credentials.
        assert anon.get("/healthz").status_code == 200
        assert anon.get("/readyz").status_code == 200


# --- the Authorization header ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer",
        "Bearer ",
        f"Bearer  {ADMIN_TOKEN}",
        f"Bearer {ADMIN_TOKEN} extra",
        f"Token {ADMIN_TOKEN}",
        ADMIN_TOKEN,
        "Bearer tthc_not-a-token-this-service-issued",
        "Bearer " + "a" * 600,
        'Bearer "quoted"',
    ],
)
def test_a_malformed_or_unknown_authorization_is_401(client: TestClient, header: str) -> None:
    c = TestClient(client.app, base_url="http://testserver")
    r = c.post("/v1/dossiers", json=[rec()], headers={"Authorization": header})
    assert_problem(r, 401)
    assert ADMIN_TOKEN not in r.text


def test_the_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    c = TestClient(client.app, base_url="http://testserver")
    r = c.post("/v1/dossiers", json=[rec()], headers={"Authorization": f"bearer {ADMIN_TOKEN}"})
    assert r.status_code == 200


def test_two_authorization_headers_are_401(client: TestClient) -> None:
    c = TestClient(client.app, base_url="http://testserver")
    headers = [("Authorization", f"Bearer {ADMIN_TOKEN}"), ("Authorization", f"Bearer {ADMIN_TOKEN}")]
    r = c.post("/v1/dossiers", json=[rec()], headers=headers)
    assert_problem(r, 401)


def test_a_bad_token_on_an_open_read_is_401(client: TestClient) -> None:
    c = TestClient(client.app, base_url="http://testserver")
    assert_problem(c.get("/v1/dossiers", headers={"Authorization": "Bearer nope"}), 401)
