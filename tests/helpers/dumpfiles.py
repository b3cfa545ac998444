"""Test helpers: a dump's export as bytes, a file's hash."""
import hashlib
import io
import pathlib

from incrdump.xmlwrite import export


def export_bytes(path, mode="full"):
    """What ``incrdump export`` writes for the dump at path."""
    buf = io.BytesIO()
    export(str(path), buf, mode=mode)
    return buf.getvalue()


def file_hash(path):
    """SHA-256 of a file's bytes (to show a file was left unchanged)."""
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()
