"""Engine-level inspection of a dump file: integrity check and description.

Layer: over ``_lowlevel``; used by the CLI (``incrdump check``, ``incrdump
info``) and the demo. Read-only: nothing here writes to the file.
"""
import uuid

from . import _lowlevel


def check_file(path):
    """Run the integrity check on the newest snapshot of ``path``.

    Returns a dict of block and entry counts; raises CorruptDumpError (or
    another IncrdumpError) when the file is damaged.
    """
    with _lowlevel.Store(path) as store:
        result = store.check()
        result["generation"] = store.info()["generation"]
        return result


def describe(path):
    """Identity, generation, size and the trees of the dump at ``path``."""
    with _lowlevel.Store(path) as store:
        info = store.info()
        trees = {}
        for tree in range(_lowlevel.MAX_TREES):
            key_type, count = store.tree_stat(tree)
            if key_type:
                kind = "int" if key_type == _lowlevel.KEY_INT else "bytes"
                trees[tree] = {"keys": kind, "entries": count}
    return {
        "uuid": str(uuid.UUID(bytes=info["uuid"])),
        "generation": info["generation"],
        "format": "%d.%d" % info["version"],
        "blocks": info["nblocks"],
        "file_size": info["file_size"],
        "trees": trees,
    }
