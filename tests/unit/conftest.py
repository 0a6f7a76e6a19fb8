"""Fixtures the unit tests share."""

from __future__ import annotations

import pytest

from pillarbox.config import Config


@pytest.fixture
def config(tmp_path) -> Config:
    """A store configuration under tmp_path (config/ and spool/)."""
    return Config.from_text(f"configdirectory: {tmp_path}/config\npartition-default: {tmp_path}/spool\n")
