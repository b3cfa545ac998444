"""Shared pytest fixtures for the incrdump test suite: small and generic."""

import pytest


@pytest.fixture
def tmp_dump(tmp_path):
    """Path (str) of a dump file that does not exist yet, in a fresh directory."""
    return str(tmp_path / "test.dump")
