"""Shared pytest fixtures for the incrdump test suite: small and generic."""

import pytest


@pytest.fixture
def tmp_dump(tmp_path):
    """Path (str) of a dump file that does not exist yet, in a fresh directory."""
    return str(tmp_path / "test.dump")


# ---- a real MediaWiki (tests/mediawiki.py; scripts/install-mediawiki) -------

@pytest.fixture(scope="session")
def mediawiki_base():
    """A MediaWiki made once per session with install.php (empty: no pages).

    Read-only by convention: tests that change a wiki use ``mediawiki``
    (a copy) instead. Skips when MediaWiki is not installed here.
    """
    import mediawiki as mw

    reason = mw.unavailable_reason()
    if reason:
        pytest.skip(reason)
    wiki = mw.MediaWiki.create()
    yield wiki
    wiki.destroy()


@pytest.fixture
def mediawiki(mediawiki_base):
    """A fresh copy of the session's MediaWiki, deleted after the test."""
    wiki = mediawiki_base.copy()
    yield wiki
    wiki.destroy()
