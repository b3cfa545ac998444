"""A real, throwaway MediaWiki for tests: Debian's ``mediawiki`` 1.39 on SQLite.

DESIGN.md §5 and §6: the reference for XML fidelity, for the drivers (which
read MediaWiki's own database) and for the mirror (which talks to its Action
API) is MediaWiki itself, not our idea of it. This module drives the copy
that ``scripts/install-mediawiki`` installs (``/usr/share/mediawiki``) with
its own maintenance scripts; nothing here imitates MediaWiki.

    wiki = MediaWiki.create()                      # ~1 s: install.php, SQLite
    wiki.import_dump("aawiki-...-history.xml.7z")  # importDump.php
    xml = wiki.dump("full")                        # dumpBackup.php --full: bytes
    wiki.edit("Foo", "text", summary="s")          # edit.php
    wiki.hide_revision([5], text=True)             # RevisionDelete, as Special:RevisionDelete
    wiki.sql("SELECT count(*) FROM revision")      # read-only sqlite3
    with wiki.serve() as base:                      # php -S 127.0.0.1:PORT
        wiki.api(action="query", meta="siteinfo")
    copy = wiki.copy()                              # cheap per-test clone
    wiki.destroy()

Layout of a wiki (its ``root``; everything it writes stays in there)::

    LocalSettings.php   written by install.php, then made relocatable
    data/               SQLite files ($wgSQLiteDataDir): <dbname>.sqlite, ...
    images/ cache/ tmp/ uploads, caches, temporary files

Maintenance scripts and the web server find the settings through the
``MW_CONFIG_FILE`` environment variable (MediaWiki 1.39:
``wfDetectLocalSettingsFile``), so many wikis can live side by side without
touching ``/etc/mediawiki``. ``LocalSettings.php`` refers to its own
directory (``__DIR__``), so a wiki directory can be copied as it is.

Everything is time-bounded (every subprocess has a timeout; the web server
is killed on exit) and local: no network beyond 127.0.0.1. Wikis are made
under $INCRDUMP_MW_TMPDIR if set, else ``/dev/shm`` when it is writable
(SQLite's fsyncs make importDump about 3x slower on disk), else in the
system temporary directory; a killed test run can leave ``incrdump-mw-*``
directories there (2 MB for an empty wiki).

Quirks of MediaWiki 1.39 that tests built on this must know (measured; see
README.md "MediaWiki reference"): importDump.php gives pages and revisions
new ids, prefixes unknown user names with ``imported>`` (user id 0),
drops ``deleted="deleted"`` (a hidden or empty contributor becomes
127.0.0.1, a hidden comment is dropped, a hidden text becomes empty: hide
them again with hide_revision()), maps namespaces by number to the local
names, recomputes sha1, bytes, parentid and origin; dumpBackup.php writes
text and comments in NFC but sha1/bytes of the text as stored, and a CR as
a raw byte; --stub needs --full or --current as well (DUMP_KINDS).
"""
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

MW_DIR = Path(os.environ.get("INCRDUMP_MEDIAWIKI_DIR", "/usr/share/mediawiki"))
PHP = os.environ.get("INCRDUMP_PHP") or shutil.which("php") or "php"

# Seconds. Generous for 2 cores; every call can pass its own.
DEFAULT_TIMEOUT = 180

DUMP_KINDS = {
    "full": ["--full"],
    "current": ["--current"],
    "stub": ["--full", "--stub"],            # like Wikimedia's stub-meta-history
    "stub-current": ["--current", "--stub"],  # like stub-meta-current
    "logs": ["--logs"],
}

# Appended to the LocalSettings.php that install.php writes.
_EXTRA_SETTINGS = r"""
# ---- added by tests/mediawiki.py ------------------------------------------
# Relocatable: the wiki's files are where this file is (copy() relies on it).
$wgSQLiteDataDir = __DIR__ . '/data';
$wgObjectCaches[CACHE_DB]['server']['dbDirectory'] = $wgSQLiteDataDir;
$wgLocalisationCacheConf['storeServer']['dbDirectory'] = $wgSQLiteDataDir;
$wgJobTypeConf['default']['server']['dbDirectory'] = $wgSQLiteDataDir;
$wgUploadDirectory = __DIR__ . '/images';
$wgTmpDirectory = __DIR__ . '/tmp';
$wgCacheDirectory = __DIR__ . '/cache';
# serve() sets the real origin (port); maintenance scripts keep 127.0.0.1.
if ( getenv( 'INCRDUMP_MW_SERVER' ) ) {
	$wgServer = getenv( 'INCRDUMP_MW_SERVER' );
}
# Quiet, local, deterministic where it costs nothing.
$wgEnableEmail = false;
$wgEnableUserEmail = false;
$wgUseImageMagick = false;
$wgPingback = false;
$wgUseInstantCommons = false;
$wgJobRunRate = 0;          # jobs only when a test runs runJobs.php
$wgShowExceptionDetails = true;
$wgDebugLogFile = '';
$wgMainCacheType = CACHE_NONE;
# The API is for tests on loopback: no rate limits, no throttles.
$wgRateLimits = [];
$wgPasswordAttemptThrottle = [];
$wgAccountCreationThrottle = 0;
"""

# A maintenance script of ours, run through maintenance/runScript.php:
# revision deletion exactly as Special:RevisionDelete and the API's
# action=revisiondelete do it (RevisionDeleter + RevDelList::setVisibility),
# which no stock maintenance script offers.
_REVDEL_PHP = r"""<?php
use MediaWiki\MediaWikiServices;
use MediaWiki\Revision\RevisionRecord;

class IncrdumpRevisionDelete extends Maintenance {
	public function __construct() {
		parent::__construct();
		$this->addDescription( 'Hide or show fields of revisions (RevisionDelete)' );
		$this->addOption( 'ids', 'Comma-separated revision ids (one page)', true, true );
		$this->addOption( 'text', 'Hide (1), show (0) or keep (-1) the text', false, true );
		$this->addOption( 'comment', 'Hide, show or keep the comment', false, true );
		$this->addOption( 'user', 'Hide, show or keep the user', false, true );
		$this->addOption( 'suppress', 'Also hide from admins (suppression)', false, true );
		$this->addOption( 'performer', 'User who does it', false, true );
		$this->addOption( 'reason', 'Log comment', false, true );
	}

	public function execute() {
		$ids = array_map( 'intval', explode( ',', $this->getOption( 'ids' ) ) );
		$services = MediaWikiServices::getInstance();
		$rev = $services->getRevisionLookup()->getRevisionById( $ids[0] );
		if ( !$rev ) {
			$this->fatalError( "no revision {$ids[0]}" );
		}
		$user = User::newFromName( $this->getOption( 'performer', 'Admin' ) );
		if ( !$user || !$user->isRegistered() ) {
			$this->fatalError( 'unknown performer' );
		}
		$context = RequestContext::getMain();
		$context->setUser( $user );
		$title = Title::newFromLinkTarget( $rev->getPageAsLinkTarget() );
		$list = RevisionDeleter::createList( 'revision', $context, $title, $ids );
		$bits = [
			RevisionRecord::DELETED_TEXT => (int)$this->getOption( 'text', -1 ),
			RevisionRecord::DELETED_COMMENT => (int)$this->getOption( 'comment', -1 ),
			RevisionRecord::DELETED_USER => (int)$this->getOption( 'user', -1 ),
			RevisionRecord::DELETED_RESTRICTED => (int)$this->getOption( 'suppress', -1 ),
		];
		$status = $list->setVisibility( [
			'value' => $bits,
			'comment' => $this->getOption( 'reason', '' ),
			'perItemStatus' => false,
		] );
		if ( !$status->isGood() ) {
			$this->fatalError( Status::wrap( $status )->getWikiText( false, false, 'en' ) );
		}
		$this->output( "ok {$status->successCount}\n" );
	}
}

$maintClass = IncrdumpRevisionDelete::class;
require_once RUN_MAINTENANCE_IF_MAIN;
"""


class MediaWikiError(RuntimeError):
    """A MediaWiki command failed or timed out; carries its output."""

    def __init__(self, message, *, argv=None, returncode=None, stdout=b"", stderr=b""):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        tail = _tail(stderr) or _tail(stdout)
        super().__init__(f"{message}\n  command: {argv}\n  exit: {returncode}\n{tail}")


def _tail(data, limit=3000):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    data = (data or "").strip()
    return data[-limit:]


def unavailable_reason():
    """None if a MediaWiki can be made here, else why not (for pytest.skip)."""
    if not shutil.which(PHP):
        return "php not found (run scripts/install-mediawiki)"
    if not (MW_DIR / "maintenance" / "install.php").is_file():
        return f"no MediaWiki at {MW_DIR} (run scripts/install-mediawiki)"
    try:
        mods = subprocess.run([PHP, "-m"], capture_output=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"php -m failed: {e}"
    mods = {m.strip().lower() for m in mods.decode().splitlines()}
    missing = [m for m in ("pdo_sqlite", "sqlite3", "mbstring", "xml", "intl") if m not in mods]
    if missing:
        return "php extensions missing: " + ", ".join(missing)
    return None


def mediawiki_version():
    """The installed MediaWiki's version string, e.g. '1.39.17' (from its source)."""
    text = (MW_DIR / "includes" / "Defines.php").read_text()
    m = re.search(r"define\(\s*'MW_VERSION',\s*'([^']+)'", text)
    return m.group(1) if m else None


def _default_parent():
    if os.environ.get("INCRDUMP_MW_TMPDIR"):
        return os.environ["INCRDUMP_MW_TMPDIR"]
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    return None


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MediaWiki:
    """One wiki: a directory with LocalSettings.php and its SQLite database."""

    ADMIN = "Admin"

    def __init__(self, root, *, owns_root=False):
        self.root = Path(root)
        self.settings = self.root / "LocalSettings.php"
        if not self.settings.is_file():
            raise MediaWikiError(f"no LocalSettings.php in {self.root}")
        text = self.settings.read_text()
        self.dbname = re.search(r'\$wgDBname = "([^"]*)";', text).group(1)
        self.sitename = re.search(r'\$wgSitename = "([^"]*)";', text).group(1)
        self._owns_root = owns_root
        self._server = None  # base URL while serve() runs

    # ---- making and unmaking ----------------------------------------------

    @classmethod
    def create(cls, root=None, *, sitename="Wikipedia", dbname="testwiki", lang="en",
               admin="Admin", main_page=False, timeout=DEFAULT_TIMEOUT):
        """Install a new wiki with install.php into ``root`` (a new temp dir if None).

        ``sitename`` names the project namespace (4), so the default
        "Wikipedia" keeps Wikipedia dumps' ``Wikipedia:`` titles as they are
        on import. install.php always creates "Main Page" (a revision stamped
        with the wall clock, by "MediaWiki default"); unless ``main_page``,
        it is deleted again with deleteBatch.php, so the wiki's only pages are
        the ones a test puts there and dumps do not depend on the time of
        creation. The admin (``admin``) is in sysop, bureaucrat,
        interface-admin and suppress.
        """
        owns = root is None
        if owns:
            root = tempfile.mkdtemp(prefix="incrdump-mw-", dir=_default_parent())
        root = Path(root)
        try:
            for sub in ("data", "images", "cache", "tmp"):
                (root / sub).mkdir(parents=True, exist_ok=True)
            password = "Pw-" + secrets.token_hex(12)
            argv = [PHP, "-d", "display_errors=stderr",
                    str(MW_DIR / "maintenance" / "install.php"),
                    "--dbtype", "sqlite", "--dbpath", str(root / "data"), "--dbname", dbname,
                    "--confpath", str(root), "--server", "http://127.0.0.1",
                    "--scriptpath", "", "--lang", lang, "--pass", password, "--skins", "",
                    "--quiet", sitename, admin]
            env = _env(root / "no-such-LocalSettings.php")
            _run(argv, cwd=root, env=env, timeout=timeout)
            settings = root / "LocalSettings.php"
            settings.write_text(settings.read_text() + _EXTRA_SETTINGS)
            (root / "admin-password").write_text(password)
            wiki = cls(root, owns_root=owns)
            wiki.run("createAndPromote.php", "--force", "--custom-groups", "suppress", admin,
                     timeout=timeout)
            if not main_page:
                wiki.delete("Main Page", reason="tests/mediawiki.py: start empty")
            return wiki
        except BaseException:
            if owns:
                shutil.rmtree(root, ignore_errors=True)
            raise

    def copy(self, root=None):
        """A new wiki with this one's content (files copied; ids continue)."""
        owns = root is None
        if owns:
            root = tempfile.mkdtemp(prefix="incrdump-mw-", dir=_default_parent())
            os.rmdir(root)
        shutil.copytree(self.root, root, symlinks=True)
        return type(self)(root, owns_root=owns)

    def destroy(self):
        """Delete the wiki's directory (only if this object made it)."""
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()

    def __repr__(self):
        return f"<MediaWiki {self.dbname} at {self.root}>"

    @property
    def admin_password(self):
        return (self.root / "admin-password").read_text()

    @property
    def db_path(self):
        """The main SQLite database file (what the drivers read)."""
        return self.root / "data" / f"{self.dbname}.sqlite"

    # ---- maintenance scripts ----------------------------------------------

    def run(self, script, *args, input=None, timeout=DEFAULT_TIMEOUT, check=True):
        """Run maintenance/SCRIPT with ARGS; returns the CompletedProcess (bytes).

        ``script`` is a file name in MediaWiki's maintenance directory or a
        path of a maintenance script of our own (run through runScript.php).
        PHP's warnings go to stderr, never into the output.
        """
        path = Path(script)
        if path.is_absolute():
            argv = [PHP, "-d", "display_errors=stderr",
                    str(MW_DIR / "maintenance" / "runScript.php"), str(path)]
        else:
            argv = [PHP, "-d", "display_errors=stderr", str(MW_DIR / "maintenance" / script)]
        argv += [str(a) for a in args]
        return _run(argv, cwd=self.root, env=_env(self.settings), input=input,
                    timeout=timeout, check=check)

    def import_dump(self, path, *, updates=False, username_prefix=None,
                    no_local_users=False, extra_args=(), timeout=DEFAULT_TIMEOUT):
        """importDump.php one dump file (.xml, or anything incrdump.sources opens).

        Compressed input is decompressed into the wiki's tmp/ first (PHP
        here has no bz2, and 7z needs 7za). ``updates=False`` passes
        --no-updates: link tables and site statistics are not refreshed,
        4-8x faster, and dumpBackup's output is byte-identical either way
        (measured). initSiteStats.php then brings the counts up to date.
        Returns importDump's stdout (text).
        """
        path = Path(path)
        tmp = None
        try:
            if path.suffix != ".xml":
                from incrdump.sources import open_source

                fd, tmp = tempfile.mkstemp(suffix=".xml", dir=self.root / "tmp")
                with os.fdopen(fd, "wb") as out, open_source(str(path)) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                path = Path(tmp)
            args = []
            if not updates:
                args.append("--no-updates")
            if username_prefix is not None:
                args += ["--username-prefix", username_prefix]
            if no_local_users:
                args.append("--no-local-users")
            args += list(extra_args)
            out = self.run("importDump.php", *args, str(path), timeout=timeout).stdout
            if not updates:
                self.run("initSiteStats.php", "--update", timeout=timeout)
            return out.decode("utf-8", "replace")
        finally:
            if tmp:
                os.unlink(tmp)

    def dump(self, kind="full", *, namespaces=None, start=None, end=None,
             revstart=None, revend=None, schema_version=None, skip_header=False,
             skip_footer=False, extra_args=(), timeout=DEFAULT_TIMEOUT):
        """dumpBackup.php's XML as bytes, exactly as it wrote it to stdout.

        kind: full | current | stub (= --full --stub) | stub-current | logs.
        namespaces: int or iterable of ints (--namespaces=0,1); start/end:
        page ids (end exclusive); revstart/revend: revision ids with
        --revrange; schema_version: "0.10" or "0.11" (1.39's default).
        """
        args = list(DUMP_KINDS[kind]) + ["--quiet"]
        if namespaces is not None:
            if isinstance(namespaces, int):
                namespaces = [namespaces]
            args.append("--namespaces=" + ",".join(str(n) for n in namespaces))
        if start is not None:
            args.append(f"--start={start}")
        if end is not None:
            args.append(f"--end={end}")
        if revstart is not None or revend is not None:
            args.append("--revrange")
            if revstart is not None:
                args.append(f"--revstart={revstart}")
            if revend is not None:
                args.append(f"--revend={revend}")
        if schema_version is not None:
            args.append(f"--schema-version={schema_version}")
        if skip_header:
            args.append("--skip-header")
        if skip_footer:
            args.append("--skip-footer")
        args += list(extra_args)
        return self.run("dumpBackup.php", *args, timeout=timeout).stdout

    def edit(self, title, text, *, summary="", user=None, minor=False, bot=False,
             nocreate=False, timeout=DEFAULT_TIMEOUT):
        """edit.php: save ``text`` as a new revision of ``title``; returns stdout."""
        args = ["--summary", summary]
        if user is not None:
            args += ["--user", user]
        if minor:
            args.append("--minor")
        if bot:
            args.append("--bot")
        if nocreate:
            args.append("--nocreate")
        args.append(title)
        data = text.encode("utf-8") if isinstance(text, str) else text
        return self.run("edit.php", *args, input=data, timeout=timeout).stdout.decode()

    def move(self, old, new, *, reason="", user=None, redirect=True,
             timeout=DEFAULT_TIMEOUT):
        """moveBatch.php for one page (leaves a redirect unless redirect=False)."""
        return self._batch("moveBatch.php", f"{old}|{new}\n", reason, user,
                           [] if redirect else ["--noredirects"], timeout)

    def delete(self, title, *, reason="", user=None, timeout=DEFAULT_TIMEOUT):
        """deleteBatch.php for one page (its revisions go to the archive table)."""
        return self._batch("deleteBatch.php", f"{title}\n", reason, user, [], timeout)

    def undelete(self, title, *, reason="", user=None, timeout=DEFAULT_TIMEOUT):
        """undelete.php: restore every archived revision of ``title``."""
        args = ["--reason", reason]
        if user is not None:
            args += ["--user", user]
        return self.run("undelete.php", *args, title, timeout=timeout).stdout.decode()

    def hide_revision(self, rev_ids, *, text=None, comment=None, user=None, suppress=None,
                      reason="", performer=None, timeout=DEFAULT_TIMEOUT):
        """RevisionDelete on revisions of one page: True hides, False shows, None keeps.

        As Special:RevisionDelete does it (MediaWiki refuses to hide the
        text of a page's current revision). Leaves a delete/revision (or
        suppress/revision) log entry.
        """
        if isinstance(rev_ids, int):
            rev_ids = [rev_ids]
        script = self.root / "tmp" / "IncrdumpRevisionDelete.php"
        if not script.exists():
            script.write_text(_REVDEL_PHP)

        def flag(v):
            return "-1" if v is None else str(int(bool(v)))

        args = ["--ids", ",".join(str(i) for i in rev_ids), "--text", flag(text),
                "--comment", flag(comment), "--user", flag(user), "--suppress", flag(suppress),
                "--performer", performer or self.ADMIN, "--reason", reason]
        return self.run(script, *args, timeout=timeout).stdout.decode()

    def _batch(self, script, listing, reason, user, extra, timeout):
        fd, listfile = tempfile.mkstemp(suffix=".txt", dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(listing)
            args = ["--r", reason] + extra
            if user is not None:
                args += ["--u", user]
            return self.run(script, *args, listfile, timeout=timeout).stdout.decode()
        finally:
            os.unlink(listfile)

    # ---- the database -----------------------------------------------------

    def connect(self):
        """A read-only sqlite3 connection to the wiki's database (close it)."""
        uri = "file:" + urllib.parse.quote(str(self.db_path)) + "?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=30)

    def sql(self, query, params=()):
        """Rows of a read-only query on the wiki's database (list of tuples)."""
        con = self.connect()
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    # ---- the web server ---------------------------------------------------

    @contextlib.contextmanager
    def serve(self, *, port=None, workers=1, timeout=60):
        """Run ``php -S 127.0.0.1:PORT`` on the wiki; yields the base URL.

        api.php is then at BASE + "/api.php". Ready when
        api.php?action=query&meta=siteinfo answers; the server is killed
        (its process group) when the block ends. PHP's built-in server
        answers one request at a time unless ``workers`` > 1
        (PHP_CLI_SERVER_WORKERS). Its log is tmp/php-server-PORT.log.
        """
        if self._server is not None:
            raise MediaWikiError("already serving")
        # A port found free can be taken before php binds it: then php -S
        # exits at once, and another free port is tried (twice more).
        for attempt in range(3):
            chosen = port or free_port()
            proc, log = self._start_server(chosen, workers, timeout)
            if proc is not None:
                break
            if port:
                break
        if proc is None:
            raise MediaWikiError("php -S exited", argv=["php", "-S", f"127.0.0.1:{chosen}"],
                                 stderr=log)
        try:
            yield self._server
        finally:
            self._server = None
            _stop(proc)

    def _start_server(self, port, workers, timeout):
        base = f"http://127.0.0.1:{port}"
        env = _env(self.settings)
        env["INCRDUMP_MW_SERVER"] = base
        if workers > 1:
            env["PHP_CLI_SERVER_WORKERS"] = str(workers)
        log_path = self.root / "tmp" / f"php-server-{port}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [PHP, "-d", "display_errors=stderr", "-S", f"127.0.0.1:{port}",
                 "-t", str(MW_DIR)],
                cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self._server = base
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    self._server = None
                    return None, log_path.read_bytes()
                try:
                    info = self.api(action="query", meta="siteinfo", timeout=5)
                    if "query" in info:
                        return proc, None
                except (OSError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise MediaWikiError(f"php -S on {base} not ready in {timeout}s",
                                         argv=proc.args, stderr=log_path.read_bytes())
                time.sleep(0.1)
        except BaseException:
            self._server = None
            _stop(proc)
            raise

    def api(self, *, timeout=30, method="GET", **params):
        """One Action API request while serve() runs; returns the decoded JSON."""
        if self._server is None:
            raise MediaWikiError("api() needs serve()")
        params.setdefault("format", "json")
        params.setdefault("formatversion", "2")
        data = urllib.parse.urlencode(params)
        url = self._server + "/api.php"
        headers = {"User-Agent": "incrdump-tests/0 (tests/mediawiki.py; loopback only)"}
        if method == "GET":
            req = urllib.request.Request(url + "?" + data, headers=headers)
        else:
            req = urllib.request.Request(url, data=data.encode(), headers=headers)
        # No proxies: this must only ever talk to 127.0.0.1.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=timeout) as resp:
            return json.loads(resp.read())


def _stop(proc):
    """End a process we started, and its children (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait(timeout=10)


def _env(settings):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["MW_CONFIG_FILE"] = str(settings)
    env["MW_INSTALL_PATH"] = str(MW_DIR)
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def _run(argv, *, cwd, env, input=None, timeout=DEFAULT_TIMEOUT, check=True):
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise MediaWikiError(f"timed out after {timeout}s", argv=argv,
                             stdout=e.stdout or b"", stderr=e.stderr or b"") from None
    if check and proc.returncode != 0:
        raise MediaWikiError("failed", argv=argv, returncode=proc.returncode,
                             stdout=proc.stdout, stderr=proc.stderr)
    return proc
