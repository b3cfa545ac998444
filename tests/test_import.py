"""``incrdump import`` end to end: every input form, several inputs, every
schema, bad input, progress, memory, and the ``incrdump.xml`` module.

Inputs are built here from the real dumps of ../shared/data/real with the
real compressors (the bz2/gzip/lzma modules, zstandard, the 7z program);
what a dump holds after an import is compared with what the XML reader
reads from the plain XML, field by field and text by text. Bad input must
give one error line naming the file (and, for XML, the line and column),
exit status 1, and leave the target exactly as it was.
"""
import bz2
import contextlib
import gzip
import io
import lzma
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import incrdump
from incrdump import cli
from incrdump.xmlread import Page, XMLReader, sha1_base36

HERE = pathlib.Path(__file__).resolve().parent
REAL = HERE.parent.parent / "shared" / "data" / "real"
CORPUS = HERE.parent.parent / "shared" / "data" / "bench" / "peps-history.xml.xz"
CRAFTED = HERE / "data" / "crafted-fidelity-0.11.xml"
DELETED = REAL / "simplewiki-extract-deleted-0.10.xml"

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real dumps not present at {REAL}")
needs_7z = pytest.mark.skipif(shutil.which("7z") is None, reason="the 7z program is missing")


# ---- helpers -----------------------------------------------------------------------------


def run(*args):
    """``incrdump ARGS`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def run_process(*args, stdin=None, input=None):
    """``python -m incrdump.cli ARGS`` as a separate process."""
    return subprocess.run([sys.executable, "-m", "incrdump.cli", *map(str, args)],
                          stdin=stdin, input=input, capture_output=True, timeout=120,
                          cwd=HERE.parent)


def content(pages):
    """What the tests compare: pages by id, with their revisions' fields
    and texts, from the XML reader or from a dump alike."""
    out = {}
    for page in pages:
        revs = []
        for rev in page:
            user = rev.user
            revs.append((
                rev.id, rev.parent_id, rev.timestamp_text, rev.minor, rev.comment, rev.sha1,
                tuple(rev.deleted),
                None if user is None else (user.name, user.id, user.ip, user.deleted),
                tuple((role, s.model, s.format, s.sha1, s.bytes, s.text)
                      for role, s in rev.slots.items()),
            ))
        out[page.id] = (page.namespace, page.title, page.redirect, page.restrictions,
                        sorted(revs))
    return out


def xml_content(source, **kw):
    with XMLReader(source, **kw) as reader:
        return content(reader), reader


def dump_content(path):
    with incrdump.open(path) as dump:
        return content(dump)


def listing(directory):
    return sorted(os.listdir(directory))


# ---- every input form --------------------------------------------------------------------


def input_forms(data, directory):
    """{form: path}: the XML ``data`` in every form import reads, made with
    the real compressors."""
    import zstandard

    text = data.decode("utf-8")
    decl = '<?xml version="1.0" encoding="UTF-16"?>\n' + text
    forms = {
        "plain": data,
        "bz2": bz2.compress(data),
        # pbzip2 writes independent streams of fixed-size chunks, one after another
        "bz2 multistream": b"".join(bz2.compress(data[i:i + 5000])
                                    for i in range(0, len(data), 5000)),
        "gz": gzip.compress(data),
        "xz": lzma.compress(data, preset=9),
        "zst": zstandard.ZstdCompressor(level=19).compress(data),
        "utf-16le BOM": b"\xff\xfe" + text.encode("utf-16-le"),
        "utf-16be BOM": b"\xfe\xff" + text.encode("utf-16-be"),
        "utf-16 declared": decl.encode("utf-16-le"),
        "utf-16 declared, BOM, bz2": bz2.compress(decl.encode("utf-16")),
    }
    paths = {}
    for i, (form, blob) in enumerate(forms.items()):
        p = directory / f"in{i}.dat"  # the magic bytes tell, not the name
        p.write_bytes(blob)
        paths[form] = p
    if shutil.which("7z"):
        plain = directory / "dump.xml"
        plain.write_bytes(data)
        archive = directory / "in.7z"
        subprocess.run(["7z", "a", "-t7z", "-mx=9", "-bd", str(archive), str(plain)],
                       check=True, capture_output=True)
        paths["7z"] = archive
    return paths


@needs_real
def test_every_input_form_imports_the_same_dump(tmp_path):
    """simplewiki's extract (deleted comment, user and text attributes) in
    every compression and encoding, through `incrdump import`."""
    want, _ = xml_content(str(DELETED))
    assert sum(len(p[4]) for p in want.values()) == 33
    forms = input_forms(DELETED.read_bytes(), tmp_path)
    for form, path in forms.items():
        out = tmp_path / f"{form}.idump"
        rc, stdout, stderr = run("import", path, "-o", out)
        assert (rc, stderr) == (0, ""), form
        assert "33 revisions" in stdout
        assert dump_content(out) == want, form
    assert ("7z" in forms) == (shutil.which("7z") is not None)


@needs_real
def test_standard_input_through_a_pipe_and_a_file(tmp_path):
    want, _ = xml_content(str(DELETED))
    forms = input_forms(DELETED.read_bytes(), tmp_path)
    for form in ("plain", "bz2 multistream", "gz", "xz", "zst", "utf-16be BOM"):
        out = tmp_path / "stdin.idump"
        r = run_process("import", "-", "-o", out, "--force", input=forms[form].read_bytes())
        assert r.returncode == 0, (form, r.stderr)
        assert dump_content(out) == want, form
    with open(forms["xz"], "rb") as f:  # stdin redirected from a file
        r = run_process("import", "-", "-o", out, "--force", stdin=f)
    assert r.returncode == 0 and dump_content(out) == want
    if "7z" in forms:  # 7z needs to seek: refused from a pipe, with the reason
        r = run_process("import", "-", "-o", tmp_path / "x.idump",
                        input=forms["7z"].read_bytes())
        assert r.returncode == 1 and b"cannot be read from a pipe" in r.stderr
        assert not (tmp_path / "x.idump").exists()


@needs_real
def test_a_real_multistream_file_and_the_7z_history(tmp_path):
    for name in ("elwikivoyage-pages-articles-multistream-p2566p2583.xml.bz2",
                 "aawiki-20260101-pages-meta-history.xml.7z"):
        if name.endswith(".7z") and shutil.which("7z") is None:
            continue
        out = tmp_path / f"{name}.idump"
        assert run("import", REAL / name, "-o", out)[0] == 0
        want, _ = xml_content(str(REAL / name))
        assert dump_content(out) == want


# ---- several inputs into one dump --------------------------------------------------------


def split_dump(data, parts):
    """The XML ``data`` cut into ``parts`` documents at page boundaries,
    each with the header and footer: a page-range split dump."""
    text = data.decode("utf-8")
    head, rest = text.split("  <page>", 1)
    body, foot = ("  <page>" + rest).rsplit("</mediawiki>", 1)
    pages = re.findall(r"  <page>.*?</page>\n", body, flags=re.S)
    assert "".join(pages) == body
    n = -(-len(pages) // parts)
    return [(head + "".join(pages[i:i + n]) + "</mediawiki>" + foot).encode()
            for i in range(0, len(pages), n)]


@needs_real
def test_page_range_parts_make_one_dump(tmp_path):
    source = REAL / "aawiki-20260101-pages-meta-current.xml.bz2"
    data = bz2.decompress(source.read_bytes())
    parts = split_dump(data, 3)
    assert len(parts) == 3
    paths = []
    for i, (part, compress) in enumerate(zip(parts, (bz2.compress, gzip.compress, bytes))):
        p = tmp_path / f"part{i}"
        p.write_bytes(compress(part))
        paths.append(p)
    out = tmp_path / "whole.idump"
    rc, stdout, _ = run("import", *paths, "-o", out, "--json")
    assert rc == 0
    want, reader = xml_content(str(source))
    assert len(want) == 507
    assert dump_content(out) == want
    with incrdump.open(out) as dump:
        assert dump.siteinfo.dbname == "aawiki" and dump.siteinfo.version == reader.version


@needs_real
def test_wikidata_split_samples_make_one_dump(tmp_path):
    names = [f"wikidatawiki-pages-articles-sample{i}.xml.bz2" for i in (1, 2, 4)]
    out = tmp_path / "wd.idump"
    assert run("import", *[REAL / n for n in names], "-o", out)[0] == 0
    want = {}
    for n in names:
        part, _ = xml_content(str(REAL / n))
        assert not want.keys() & part.keys()
        want.update(part)
    assert dump_content(out) == want


# ---- schemas, stubs, MCR, deleted fields, uploads and log items --------------------------


SCHEMAS = [
    ("enwiki-article-pear-0.3.xml", "0.3", "history"),
    ("empty-dump.xml", "0.8", "history"),
    ("enwiki-article-pear-0.10.xml", "0.10", "history"),
    ("enwiki-pair-0.10.xml", "0.10", "history"),
    ("simplewiki-extract-deleted-0.10.xml", "0.10", "history"),
    ("simplewiki-extract-sparkdumper-0.11.xml", "0.11", "history"),
    ("stub-articles-sample.xml.gz", "0.10", "stub"),
    ("stub-history-sample.xml.gz", "0.11", "stub"),
    ("ltgwiki-pages-articles-sample.xml.bz2", "0.10", "current"),
]


@needs_real
@pytest.mark.parametrize("name,version,kind", SCHEMAS)
def test_every_schema_imports(tmp_path, name, version, kind):
    out = tmp_path / "s.idump"
    rc, _, stderr = run("import", REAL / name, "-o", out, "--kind", kind)
    assert (rc, stderr) == (0, "")
    want, reader = xml_content(str(REAL / name))
    assert reader.version == version
    got = dump_content(out)
    if kind == "stub":  # no texts kept
        want = {k: v[:4] + ([r[:8] + (tuple(s[:5] + (None,) for s in r[8]),) for r in v[4]],)
                for k, v in want.items()}
    assert got == want
    with incrdump.open(out) as dump:
        assert dump.siteinfo.version == version
        assert dump.info()["kind"] == kind
        if version == "0.3":
            assert dump.page(list(want)[0]).namespace == 0  # from the title


def test_mcr_deleted_fields_uploads_and_log_items_come_back(tmp_path):
    out = tmp_path / "c.idump"
    assert run("import", CRAFTED, "-o", out)[0] == 0
    want, reader = xml_content(str(CRAFTED))
    assert dump_content(out) == want
    with XMLReader(str(CRAFTED)) as r:
        items = [(x.name, x.xml) for x in r.items() if not isinstance(x, Page)]
        pages = {}
    with XMLReader(str(CRAFTED)) as r:
        for page in r:
            list(page)
            pages[page.id] = [(x.name, x.xml) for x in page.extras]
        siteextras = [(x.name, x.xml) for x in r.siteinfo.extras]
    assert items == [("logitem", items[0][1])] and "<type>delete</type>" in items[0][1]
    assert [n for n, _ in pages[10]] == ["upload"]
    with incrdump.open(out) as dump:
        assert [(x.name, x.xml) for x in dump.siteinfo.top_extras] == items
        assert [(x.name, x.xml) for x in dump.siteinfo.extras] == siteextras
        for pid, extras in pages.items():
            assert [(x.name, x.xml) for x in dump.page(pid).extras] == extras
        rev = dump.revision(100)
        assert list(rev.slots) == ["main", "mediainfo"] and rev.slots["mediainfo"].text == "{}"
        assert dump.revision(101).deleted == (True, True, True)


def test_python_load_from_file_objects_and_the_xml_module(tmp_path):
    from incrdump.xml import XMLReader as R
    from incrdump.xml import load

    assert R is XMLReader and load is incrdump.load
    out = tmp_path / "py.idump"
    stats = load(out, [io.BytesIO(CRAFTED.read_bytes())])
    assert (stats["pages"], stats["revisions"]) == (4, 6)
    assert dump_content(out) == xml_content(str(CRAFTED))[0]


def test_incrdump_xml_does_not_hide_the_standard_library_xml():
    code = ("import incrdump.xml, xml, xml.etree.ElementTree as ET\n"
            "from xml.parsers import expat\n"
            "assert incrdump.xml.__name__ == 'incrdump.xml' and xml.__name__ == 'xml'\n"
            "assert 'incrdump' not in xml.__file__ and hasattr(expat, 'ParserCreate')\n"
            "print(ET.fromstring('<a>x</a>').text)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=HERE.parent, timeout=60)
    assert r.returncode == 0 and r.stdout == "x\n", r.stderr


def test_new_dump_gets_the_usual_file_mode(tmp_path):
    out = tmp_path / "m.idump"
    old = os.umask(0o022)
    try:
        assert run("import", CRAFTED, "-o", out)[0] == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_carriage_returns_in_a_crlf_file_are_kept_in_the_dump(tmp_path):
    """A hand-written export with CRLF line ends everywhere: its texts keep
    their CRs (and so match their sha1), the rest reads as usual."""
    texts = ["line one\r\nline two\r\n", "lone\rcr and \r\n and \n", "plain"]
    revs = []
    for i, t in enumerate(texts, 1):
        b = t.encode()
        revs.append(f"""    <revision>
      <id>{i}</id>
      <timestamp>2021-01-0{i}T00:00:00Z</timestamp>
      <contributor>
        <username>Ann</username>
        <id>3</id>
      </contributor>
      <comment>edit {i}</comment>
      <model>wikitext</model>
      <format>text/x-wiki</format>
      <text bytes="{len(b)}" sha1="{sha1_base36(b)}" xml:space="preserve">@{i}@</text>
      <sha1>{sha1_base36(b)}</sha1>
    </revision>
""")
    xml = ('<?xml version="1.0" encoding="utf-8"?>\n'
           '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" '
           'xml:lang="en">\n  <siteinfo>\n    <sitename>CR</sitename>\n  </siteinfo>\n'
           '  <page>\n    <title>Crlf</title>\n    <ns>0</ns>\n    <id>1</id>\n'
           + "".join(revs) + "  </page>\n</mediawiki>\n").replace("\n", "\r\n")
    for i, t in enumerate(texts, 1):
        xml = xml.replace(f"@{i}@", t)
    src = tmp_path / "crlf.xml"
    src.write_bytes(xml.encode())
    out = tmp_path / "crlf.idump"
    rc, _, err = run("import", src, "-o", out)
    assert rc == 0, err
    with incrdump.open(out) as dump:
        got = [(r.text, r.sha1, r.comment) for r in dump.page(1)]
    assert got == [(t, sha1_base36(t.encode()), f"edit {i}") for i, t in enumerate(texts, 1)]


# ---- bad input ---------------------------------------------------------------------------


def page(pid, title, *revs):
    return (f"  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>{pid}</id>\n"
            + "".join(revs) + "  </page>\n")


def rev(rid, text="t", sha1=None, extra=""):
    sha1 = sha1_base36(text.encode()) if sha1 is None else sha1
    return (f"    <revision>\n      <id>{rid}</id>\n"
            f"      <timestamp>2020-01-01T00:00:00Z</timestamp>\n"
            f"      <contributor><username>U</username><id>1</id></contributor>\n"
            f"      <text bytes=\"{len(text)}\" xml:space=\"preserve\">{text}</text>\n"
            f"      <sha1>{sha1}</sha1>{extra}\n    </revision>\n")


def document(*pages, prolog=""):
    return (prolog + '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" '
            'version="0.11" xml:lang="en">\n  <siteinfo>\n    <sitename>B</sitename>\n'
            "  </siteinfo>\n" + "".join(pages) + "</mediawiki>\n").encode()


GOOD = document(page(1, "A", rev(1)), page(2, "B", rev(2), rev(3)))


def compressed_cut(compress):
    def make(tmp_path):
        blob = compress(GOOD)
        return [("cut", blob[: len(blob) * 2 // 3])]
    return make


def seven_zip_cut(tmp_path):
    if shutil.which("7z") is None:
        pytest.skip("the 7z program is missing")
    plain = tmp_path / "whole.xml"
    plain.write_bytes(GOOD)
    archive = tmp_path / "whole.7z"
    subprocess.run(["7z", "a", "-bd", str(archive), str(plain)], check=True, capture_output=True)
    blob = archive.read_bytes()
    plain.unlink()
    archive.unlink()
    return [("cut.7z", blob[: len(blob) * 2 // 3])]


def zstd(data):
    import zstandard
    return zstandard.ZstdCompressor().compress(data)


def line_of(data, needle, nth=1):
    """The 1-based line of the nth occurrence of needle in data."""
    at = -1
    for _ in range(nth):
        at = data.index(needle, at + 1)
    return data[:at].count(b"\n") + 1


# (label, inputs maker -> [(file name, bytes)], words in the message, line or None)
BAD = [
    ("malformed XML", lambda t: [("m.xml", GOOD.replace(b"</title>", b"</titel>", 1))],
     "malformed XML: mismatched tag", line_of(GOOD, b"</title>")),
    ("cut XML", lambda t: [("c.xml", GOOD[:-40])], "malformed XML: no element found", None),
    ("truncated bz2", compressed_cut(bz2.compress), "truncated bz2", None),
    ("truncated gzip", compressed_cut(gzip.compress), "truncated gzip", None),
    ("truncated xz", compressed_cut(lzma.compress), "truncated xz", None),
    ("truncated zstd", compressed_cut(zstd), "truncated zstd", None),
    ("truncated 7z", seven_zip_cut, "truncated 7z archive", None),
    ("Latin-1 declared UTF-8",
     lambda t: [("l.xml", GOOD.replace(b"<title>B", "<title>Bé".encode("latin-1"))
                 .replace(b"<mediawiki", b'<?xml version="1.0" encoding="UTF-8"?>\n<mediawiki'))],
     "not well-formed (invalid token)", line_of(GOOD, b"<title>B") + 1),
    ("UTF-8 declared UTF-16",
     lambda t: [("u.xml", b'<?xml version="1.0" encoding="UTF-16"?>\n' + GOOD)],
     "encoding specified in XML declaration is incorrect", 1),
    ("revision without text", lambda t: [("s.xml", GOOD.replace(
        b'<text bytes="1" xml:space="preserve">t</text>',
        b'<text bytes="1" id="9" location="tt:9" />', 1))], "stub", line_of(GOOD, b"<revision>")),
    ("revision without <text>", lambda t: [("n.xml", re.sub(
        rb"<text [^>]*>t</text>", b"", GOOD, count=1))], "<revision> without <text>", None),
    ("duplicate page id", lambda t: [("d.xml", document(page(1, "A", rev(1)),
                                                         page(1, "B", rev(2))))],
     "duplicate page id 1", None),
    ("duplicate page id across files",
     lambda t: [("p1.xml", GOOD), ("p2.xml", document(page(2, "C", rev(7))))],
     "duplicate page id 2: already read from an earlier input", 5),
    ("duplicate revision id in a page",
     lambda t: [("r.xml", document(page(1, "A", rev(1), rev(2), rev(1, "u"))))],
     "duplicate revision id 1", line_of(document(page(1, "A", rev(1), rev(2), rev(1))),
                                         b"<revision>", 3)),
    ("duplicate revision id in two pages",
     lambda t: [("r2.xml", document(page(1, "A", rev(1)), page(2, "B", rev(1, "u"))))],
     "duplicate revision id 1: already in page 1", None),
    ("duplicate revision id across files",
     lambda t: [("q1.xml", GOOD), ("q2.xml", document(page(5, "E", rev(3, "u"))))],
     "duplicate revision id 3: already in page 2",
     line_of(document(page(5, "E", rev(3, "u"))), b"<revision>")),
    ("two pages, one title",
     lambda t: [("t.xml", document(page(1, "A", rev(1)), page(2, "A", rev(2))))],
     "page 2", None),
    ("external entity",
     lambda t: [("e.xml", document(page(1, "A", rev(1, "&xxe;")),
                                   prolog='<!DOCTYPE mediawiki [<!ENTITY xxe SYSTEM '
                                          '"file:///etc/passwd">]>\n'))],
     "refused", 1),
    ("external DTD",
     lambda t: [("x.xml", document(page(1, "A", rev(1)),
                                   prolog='<!DOCTYPE mediawiki SYSTEM "http://x/y.dtd">\n'))],
     "refused", 1),
    # the Wikidata Toolkit's mocks write <model> and <format> after <text>,
    # against every schema: the first problem met in either (the incomplete
    # one also ends inside a revision, see test_incomplete_mock_is_cut_short)
    ("bad-mock-dump-incomplete-revision.xml", lambda t: "real", "<model> after <text>", 22),
    ("bad-mock-dump-with-bugs.xml", lambda t: "real", "<model> after <text>", 22),
]


@needs_real
def test_every_bad_real_file_is_in_the_table():
    real_bad = {p.name for p in REAL.glob("bad-*")}
    assert real_bad and real_bad <= {label for label, *_ in BAD}


@pytest.fixture(scope="module")
def existing_dump(tmp_path_factory):
    path = tmp_path_factory.mktemp("existing") / "good.idump"
    assert run("import", CRAFTED, "-o", path)[0] == 0
    return path.read_bytes()


@pytest.mark.parametrize("label,make,words,line", BAD, ids=[b[0] for b in BAD])
def test_bad_input_fails_with_one_line_and_leaves_the_target_alone(
        tmp_path, existing_dump, label, make, words, line):
    inputs = make(tmp_path)
    if inputs == "real":
        if not REAL.is_dir():
            pytest.skip("real dumps not present")
        paths = [REAL / label]
    else:
        paths = []
        for name, blob in inputs:
            (tmp_path / name).write_bytes(blob)
            paths.append(tmp_path / name)
    culprit = str(paths[-1])
    target = tmp_path / "target.idump"
    for state in ("absent", "exists", "exists, --force"):
        before = listing(tmp_path)
        if state != "absent":
            target.write_bytes(existing_dump)
            before = listing(tmp_path)
        rc, stdout, stderr = run("import", *paths, "-o", target,
                                 *(["--force"] if "force" in state else []))
        assert rc == 1 and stdout == "", (state, stderr)
        assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
        assert listing(tmp_path) == before, state  # no dump, no temporary file
        if state == "absent":
            assert not target.exists()
        else:
            assert target.read_bytes() == existing_dump, state
        if state == "exists":
            assert "already exists" in stderr
            continue
        assert stderr.startswith(f"incrdump import: {culprit}"), stderr
        assert words in stderr, stderr
        m = re.match(rf"incrdump import: {re.escape(culprit)}:(\d+):(\d+): ", stderr)
        if "truncated" in label:
            assert m is None  # an archive error: no XML position
        else:
            assert m, stderr
            if line is not None:
                assert int(m.group(1)) == line, stderr
        target.unlink(missing_ok=True)


def test_a_bad_second_input_names_that_input(tmp_path):
    first, second = tmp_path / "first.xml", tmp_path / "second.xml.gz"
    first.write_bytes(GOOD)
    second.write_bytes(gzip.compress(document(page(9, "Z", rev(9)))[:-30]))
    rc, _, err = run("import", first, second, "-o", tmp_path / "o.idump")
    assert rc == 1 and err.startswith(f"incrdump import: {second}:")
    assert listing(tmp_path) == ["first.xml", "second.xml.gz"]


# ---- progress ----------------------------------------------------------------------------


def run_on_a_terminal(args, columns=140):
    """Run `incrdump ARGS` with stderr on a pseudo-terminal of the given
    width: (exit status, stdout, what the terminal received)."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "incrdump.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=slave, cwd=HERE.parent)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    out = proc.stdout.read()
    proc.stdout.close()
    return proc.wait(timeout=60), out.decode(), seen.decode()


@needs_real
def test_progress_line_on_a_terminal_only(tmp_path):
    source = REAL / "elwikivoyage-pages-articles-sample.xml.bz2"  # ~1 s of work
    out = tmp_path / "p.idump"
    rc, stdout, screen = run_on_a_terminal(["import", source, "-o", out])
    assert rc == 0 and "2040 pages" in stdout
    updates = [u for u in screen.split("\r") if u.strip()]
    assert len(updates) >= 2, screen
    pattern = (r"import +(\d+)% \[[#.]{20}\] [\d,]+ pages, [\d,]+ revisions, [\d.,]+ MB at "
               r"(?:[\d.]+|--) MB/s, \d+:\d\d")
    percents = [int(re.match(pattern, u).group(1)) for u in updates if u.strip()]
    assert percents == sorted(percents) and percents[-1] == 100 and percents[0] < 100
    assert "2,040 pages, 2,040 revisions" in updates[-1]
    # --quiet: nothing on the terminal, nothing on stdout
    rc, stdout, screen = run_on_a_terminal(["import", source, "-o", out, "--force", "-q"])
    assert (rc, stdout, screen) == (0, "", "")
    # not a terminal: no progress at all
    r = run_process("import", source, "-o", out, "--force")
    assert r.returncode == 0 and r.stderr == b""
    # a narrow terminal: the line fits, without its bar
    r, _, screen = run_on_a_terminal(["import", CRAFTED, "-o", out, "--force"], columns=60)
    lines = [u.replace("\x1b[K", "").rstrip("\n") for u in screen.split("\r") if u.strip()]
    assert r == 0 and lines and all(len(u) < 60 and "[" not in u for u in lines), lines


def test_progress_callback_reports_input_position(tmp_path):
    seen = []
    data = b"".join([GOOD] * 1)
    src = tmp_path / "g.xml.gz"
    src.write_bytes(gzip.compress(data))
    stats = incrdump.load(tmp_path / "o.idump", [src], progress=seen.append)
    last = seen[-1]
    assert last["input_bytes"] == last["input_size"] == src.stat().st_size
    assert last["xml_bytes"] == len(data) and stats["xml_bytes"] == len(data)
    assert last["source"] == str(src) and (last["pages"], last["revisions"]) == (2, 3)


# ---- interrupts --------------------------------------------------------------------------


def endless_pages():
    """An export that never ends (pages of 10 kB), as chunks."""
    yield document().split(b"</mediawiki>")[0]
    n = 0
    while True:
        n += 1
        yield page(n, f"P{n}", rev(n, "x" * 10000)).encode()


def test_sigterm_removes_the_temporary_file(tmp_path):
    target = tmp_path / "t.idump"
    proc = subprocess.Popen([sys.executable, "-m", "incrdump.cli", "import", "-", "-o",
                             str(target)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=HERE.parent)
    stop = threading.Event()

    def feed():
        try:
            for chunk in endless_pages():
                if stop.is_set():
                    break
                proc.stdin.write(chunk)
        except (BrokenPipeError, ValueError):
            pass

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not any(n.endswith(".partial") for n in os.listdir(tmp_path)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    stop.set()
    rc = proc.wait(timeout=60)
    t.join(timeout=10)
    err = proc.stderr.read().decode()
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()
    assert rc == 143 and err == "incrdump import: terminated\n"
    assert os.listdir(tmp_path) == []


# ---- memory ------------------------------------------------------------------------------


GENERATOR = r"""
import hashlib, sys
revs, size = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
out.write(b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">\n'
          b'  <page>\n    <title>Big</title>\n    <ns>0</ns>\n    <id>1</id>\n')
for r in range(1, revs + 1):
    seed = hashlib.sha256(str(r).encode()).hexdigest().encode()
    text = (seed * (size // 64 + 1))[:size]
    out.write(b'    <revision>\n      <id>%d</id>\n      <timestamp>2020-01-01T00:00:00Z'
              b'</timestamp>\n      <contributor><ip>::1</ip></contributor>\n'
              b'      <text bytes="%d" xml:space="preserve">' % (r, size))
    out.write(text)
    out.write(b'</text>\n    </revision>\n')
out.write(b'  </page>\n</mediawiki>\n')
"""


# Linux counts into a child's peak RSS the memory of the process it was
# forked from (exec keeps the old image's high-water mark): a child of this
# test process would report pytest's own peak. So a small launcher process
# starts the import and reports that child's peak, from wait4.
LAUNCHER = r"""
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
sys.stderr.write("\nexit %d maxrss %d\n" % (os.waitstatus_to_exitcode(status), usage.ru_maxrss))
"""


def peak_rss_of_import(args, stdin=None):
    """Run `incrdump import ARGS` and return (its peak RSS in bytes, stdout)."""
    r = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-m", "incrdump.cli",
                        "import", *map(str, args)], stdin=stdin, capture_output=True,
                       cwd=HERE.parent, timeout=300)
    err = r.stderr.decode()
    m = re.search(r"\nexit (-?\d+) maxrss (\d+)\n\Z", err)
    assert r.returncode == 0 and m and m.group(1) == "0", err
    return int(m.group(2)) * 1024, r.stdout.decode()


def test_memory_stays_flat_on_a_long_single_page_history_from_stdin(tmp_path):
    """One page with 20 MB, then 200 MB, of history, generated on the fly
    into a pipe: the import's peak memory does not grow with the input."""
    peaks = []
    for revs in (40, 400):  # 500 kB revisions
        gen = subprocess.Popen([sys.executable, "-c", GENERATOR, str(revs), "500000"],
                               stdout=subprocess.PIPE)
        peak, out = peak_rss_of_import(["-", "-o", tmp_path / f"{revs}.idump"], stdin=gen.stdout)
        gen.stdout.close()
        assert gen.wait() == 0
        assert f"1 pages, {revs} revisions" in out
        peaks.append(peak)
    small, big = peaks
    assert big < small + (16 << 20), f"peak RSS {small >> 20} MiB -> {big >> 20} MiB"
    assert big < 150 << 20


@pytest.mark.skipif(not CORPUS.exists(), reason="benchmark corpus not present")
def test_corpus_import_peak_memory_under_200_mb(tmp_path):
    """The benchmark corpus (373 MB of XML, from its xz -9 file, whose
    decoder alone takes 64 MiB) imports in under 200 MB."""
    peak, out = peak_rss_of_import([CORPUS, "-o", tmp_path / "c.idump",
                                    "--allow-control-chars"])
    assert "742 pages, 17815 revisions" in out
    assert peak < 200_000_000, f"peak RSS {peak / 1e6:.0f} MB"


@needs_real
def test_incomplete_mock_is_cut_short(tmp_path):
    """With its misplaced <model>/<format> moved before <text>, the
    incomplete mock still fails: it ends inside a revision."""
    data = (REAL / "bad-mock-dump-incomplete-revision.xml").read_bytes()
    fixed = re.sub(rb"(\n\s*<text [^\n]*</text>)((?:\n\s*<sha1>[^\n]*)?)"
                   rb"((?:\n\s*<(?:model|format)>[^\n]*)+)", rb"\3\1\2", data)
    assert fixed != data
    src = tmp_path / "moved.xml"
    src.write_bytes(fixed)
    rc, _, stderr = run("import", src, "-o", tmp_path / "d.idump")
    assert rc == 1 and "no element found" in stderr, stderr
    assert not (tmp_path / "d.idump").exists()
