"""The service's app on a fixed clock, for a real server whose "now" a test chooses: the instant is
TEST_CLOCK_NOW (ISO 8601 with an offset). Served by uvicorn in tests/test_dashboard.py, where the
worklists (judged now) and the feed's quality (counted per local day) must not depend on the real date."""

from __future__ import annotations

import os
from datetime import datetime

from app.main import create_app

NOW = datetime.fromisoformat(os.environ["TEST_CLOCK_NOW"])
if NOW.tzinfo is None:
    raise SystemExit("TEST_CLOCK_NOW needs an offset, e.g. 2025-10-03T09:00:00+07:00")

app = create_app(clock=lambda: NOW)
