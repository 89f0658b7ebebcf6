"""Admin writes that read before they write queue behind other writers instead of failing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient


def test_concurrent_agency_renames_all_succeed(client: TestClient) -> None:
    def rename(i: int) -> int:
        body = {"name": f"Sở Xây dựng {i}", "level": "province", "commune_code": None}
        status: int = client.put("/v1/agencies/000.00.07.H41", json=body).status_code
        return status

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(rename, range(24)))
    assert statuses == [200] * 24
    names = {a["code"]: a["name"] for a in client.get("/v1/agencies").json()}
    assert names["000.00.07.H41"].startswith("Sở Xây dựng ")
