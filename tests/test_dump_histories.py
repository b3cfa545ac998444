"""Random page histories round-trip through a dump, in every kind and codec.

Hypothesis draws histories the way wikis make them -- edits, reverts to an
older text, blanking and restoring, empty and large texts, non-ASCII text,
MCR slots -- writes them through the Python API, reads everything back and
compares with a plain model; the packed layout (what ``compact`` writes)
too. Then it deletes revisions and pages at random positions (texts stored
as deltas against a deleted one, or packed with it, must be re-encoded) and
checks every remaining text again, after a reopen, plus the dump's own
integrity check.
"""
import datetime
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import incrdump
from incrdump.dump import Contributor, Revision, Slot
from incrdump.errors import NotFoundError

T0 = datetime.datetime(2004, 1, 1, tzinfo=datetime.timezone.utc)
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

words = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                min_size=0, max_size=40)


@st.composite
def history(draw, max_revs=14):
    """A list of (main text, extra-slot text or None) in edit order."""
    texts = []
    n = draw(st.integers(1, max_revs))
    for _ in range(n):
        prev = texts[-1][0] if texts else ""
        op = draw(st.sampled_from(
            ["new", "edit", "edit", "edit", "append", "revert", "blank", "huge"]))
        if op == "new" or not texts:
            t = draw(words) * draw(st.integers(1, 30))
        elif op == "edit":
            i = draw(st.integers(0, len(prev)))
            j = draw(st.integers(i, min(len(prev), i + 20)))
            t = prev[:i] + draw(words) + prev[j:]
        elif op == "append":
            t = prev + "\n" + draw(words)
        elif op == "revert":
            t = texts[draw(st.integers(0, len(texts) - 1))][0]
        elif op == "blank":
            t = ""
        else:
            seed = draw(st.binary(min_size=8, max_size=8))
            # ~300 KB of text that compresses poorly, then edited copies of it
            blob = b"".join(hashlib.sha256(seed + i.to_bytes(4, "little")).digest()
                            for i in range(10000))
            t = blob.hex()[: draw(st.integers(100_000, 320_000))]
        extra = None
        if draw(st.integers(0, 4)) == 0:
            extra = '{"labels": %s}' % draw(words)
        texts.append((t, extra))
    return texts


def sha1_base36(data):
    n = int.from_bytes(hashlib.sha1(data).digest(), "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(31, "0")


def make_revision(rev_id, page_id, i, text, extra):
    slots = {"main": Slot("main", text, model="wikitext", format="text/x-wiki",
                          sha1=sha1_base36(text.encode()), bytes=len(text.encode()))}
    if extra is not None:
        slots["mediainfo"] = Slot("mediainfo", extra, model="wikibase-mediainfo",
                                  format="application/json", sha1=sha1_base36(extra.encode()),
                                  bytes=len(extra.encode()))
    return Revision(rev_id, T0 + datetime.timedelta(minutes=rev_id), page_id=page_id,
                    parent_id=rev_id - 1 if i else None, user=Contributor(f"User {i % 3}", i % 3),
                    comment=f"edit {i} \u00e9", sha1=sha1_base36(text.encode()), slots=slots)


def expected(pages, kind):
    """{page_id: {rev_id: (text, extra)}} as the dump must hold it."""
    out = {}
    for pid, revs in pages.items():
        if kind == "current" and revs:
            last = max(revs)
            revs = {last: revs[last]}
        out[pid] = dict(revs)
    return out


def verify(path, model, kind):
    with incrdump.open(path) as dump:
        seen = {}
        for page in dump:
            seen[page.id] = {}
            for rev in page:
                seen[page.id][rev.id] = rev
                text, extra = model[page.id][rev.id]
                assert rev.sha1 == sha1_base36(text.encode())
                assert rev.slots["main"].bytes == len(text.encode())
                assert set(rev.slots) == ({"main"} if extra is None else {"main", "mediainfo"})
                if kind == "stub":
                    assert rev.text is None
                else:
                    assert rev.text == text
                    if extra is not None:
                        assert rev.slots["mediainfo"].text == extra
        assert {p: set(r) for p, r in seen.items()} == {p: set(r) for p, r in model.items()}
        # random access agrees with the scan
        for pid, revs in model.items():
            for rid, (text, _) in revs.items():
                r = dump.revision(rid)
                assert r.page_id == pid
                assert r.text == (None if kind == "stub" else text)
        dump.check()


@pytest.mark.parametrize("kind,codec,max_depth,packed", [
    ("history", "zstd", 16, False), ("history", "xz", 16, False), ("history", "zstd", 1, False),
    ("history", "zstd", 2, False), ("current", "zstd", 16, False), ("stub", "zstd", 16, False),
    ("history", "zstd", 16, True), ("history", "xz", 16, True),
])
@SETTINGS
@given(data=st.data())
def test_histories_round_trip_and_survive_deletes(tmp_path_factory, kind, codec, max_depth,
                                                  packed, data):
    path = str(tmp_path_factory.mktemp("h") / "h.idump")
    hists = data.draw(st.lists(history(), min_size=1, max_size=3), label="pages")
    pages = {}
    rev_id = 100
    with incrdump.open(path, "w", kind=kind, codec=codec, max_depth=max_depth,
                       packed=packed) as dump:
        with dump.transaction() as txn:
            for n, hist in enumerate(hists):
                pid = 10 + n
                txn.put_page(id=pid, title=f"P\u00e4ge {n}", namespace=0)
                pages[pid] = {}
                for i, (text, extra) in enumerate(hist):
                    rev_id += 1
                    txn.put_revision(make_revision(rev_id, pid, i, text, extra))
                    pages[pid][rev_id] = (text, extra)
    model = expected(pages, kind)
    verify(path, model, kind)

    # Delete at random positions: a revision (first, middle, last, reverted-to
    # ones alike) or a whole page, one transaction each; the model follows.
    steps = data.draw(st.integers(1, 6), label="deletes")
    for _ in range(steps):
        live = [(p, r) for p, revs in model.items() for r in revs]
        if not live:
            break
        if data.draw(st.integers(0, 5), label="page?") == 0:
            pid = data.draw(st.sampled_from(sorted(model)), label="page")
            with incrdump.open(path, "w") as dump, dump.transaction() as txn:
                txn.delete_page(pid)
            del model[pid]
        else:
            pid, rid = data.draw(st.sampled_from(sorted(live)), label="rev")
            with incrdump.open(path, "w") as dump, dump.transaction() as txn:
                txn.delete_revision(rid)
            del model[pid][rid]
        verify(path, model, kind)


def test_delete_missing_raises_not_found(tmp_path):
    path = str(tmp_path / "d.idump")
    with incrdump.open(path, "w") as dump:
        with dump.transaction() as txn:
            txn.put_page(id=1, title="A")
            txn.put_revision(make_revision(5, 1, 0, "text", None))
        with pytest.raises(NotFoundError):
            with dump.transaction() as txn:
                txn.delete_revision(6)
        with pytest.raises(KeyError):
            with dump.transaction() as txn:
                txn.delete_page(2)
        # the failed transactions changed nothing
        assert dump.revision(5).text == "text"
