"""Every setting the service reads is in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from app.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_configuration_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    names = []
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices)
        names += [str(choice) for choice in alias.choices]
    assert len(names) >= 30
    assert sorted(set(names) - named) == []
