"""Print the served OpenAPI document (`make openapi` writes it to openapi.json)."""

from __future__ import annotations

import json
import sys

from app.config import Settings
from app.main import create_app


def render() -> str:
    app = create_app(Settings(DATABASE_URL="sqlite:///:memory:"))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
