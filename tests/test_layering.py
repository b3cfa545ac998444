"""The C core's layering: a file in csrc/ includes only its own or lower layers.

DESIGN.md §2: leaves < blockfile < freelist < node < pager < btree < store <
check < dump; delta/codec are siblings used only by record and dump; incrdump.h, the
public header, is included only by the top-layer files that implement it and by
record (which encodes its *Info structs).
"""
import pathlib
import re

import pytest

CSRC = pathlib.Path(__file__).resolve().parent.parent / "csrc"

# stem -> rank. A file may include a header of rank <= its own.
RANK = {
    "status": 0,
    "bytes": 0,
    "vfs": 0,
    "blockfile": 1,
    "freelist": 2,
    "node": 3,      # B+tree node codec
    "delta": 3,     # pure bytes -> bytes
    "codec": 3,     # pure bytes -> bytes
    "pager": 4,     # node cache + a transaction's block accounting
    "btree": 5,
    "store": 6,
    "check": 7,
    "record": 7,
    "dump": 8,      # and dump_*.c / dump_*.h
    "incrdump": 0,  # the public header: includes nothing of ours; who may
                    # include it is restricted by ONLY_FROM instead
}
# stem -> the only stems allowed to include it (besides itself).
ONLY_FROM = {
    "incrdump": {"store", "check", "record", "dump"},
    "delta": {"codec", "record", "dump"},
    "codec": {"delta", "record", "dump"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


def layer(stem):
    """The table entry for a file stem (dump_* files belong to dump), or None."""
    if stem in RANK:
        return stem
    if stem.startswith("dump_"):
        return "dump"
    return None


def violations(csrc):
    """Every layering problem in the directory ``csrc``, as readable strings."""
    problems = []
    files = sorted(p for p in csrc.iterdir() if p.suffix in (".c", ".h"))
    for path in files:
        me = layer(path.stem)
        if me is None:
            problems.append(
                f"{path.name}: unknown file; add {path.stem!r} to RANK in "
                f"tests/test_layering.py (and to DESIGN.md §2)"
            )
            continue
        for name in INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")):
            target = pathlib.PurePosixPath(name)
            them = layer(target.stem) if target.parent == pathlib.PurePosixPath(".") else None
            if them is None:
                problems.append(
                    f'{path.name}: includes unknown "{name}"; add it to RANK in '
                    f"tests/test_layering.py"
                )
            elif them == me:
                continue
            elif RANK[them] > RANK[me]:
                problems.append(
                    f'{path.name} (layer {me}, rank {RANK[me]}) includes "{name}" '
                    f"(rank {RANK[them]}): upward include"
                )
            elif them in ONLY_FROM and me not in ONLY_FROM[them]:
                allowed = ", ".join(sorted(ONLY_FROM[them]))
                problems.append(f'{path.name}: may not include "{name}" (only {allowed} may)')
    return problems


def test_csrc_includes_only_lower_layers():
    assert CSRC.is_dir()
    assert violations(CSRC) == []


def _tree(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"freelist.c": '#include "freelist.h"\n#include "status.h"\n', "freelist.h": ""}, []),
        ({"freelist.h": '#include "btree.h"\n', "btree.h": ""}, ["upward include"]),
        ({"status.c": '  #  include "blockfile.h"\n', "blockfile.h": ""}, ["upward include"]),
        ({"btree.c": '#include "incrdump.h"\n', "incrdump.h": ""}, ["may not include"]),
        ({"store.c": '#include "incrdump.h"\n', "incrdump.h": ""}, []),
        ({"dump_cursor.c": '#include "incrdump.h"\n#include "codec.h"\n',
          "incrdump.h": "", "codec.h": ""}, []),
        ({"node.c": '#include "codec.h"\n', "codec.h": ""}, ["may not include"]),
        ({"zzz.c": "", "status.h": ""}, ["unknown file"]),
        ({"btree.c": '#include "zzz.h"\n'}, ["unknown"]),
        ({"pager.h": '#include "btree.h"\n', "btree.h": ""}, ["upward include"]),
        ({"btree.c": '#include <zstd.h>\n#include "../x/node.h"\n'}, ["unknown"]),
    ],
)
def test_checker_catches_bad_includes(tmp_path, files, expected):
    found = violations(_tree(tmp_path, files))
    assert len(found) == len(expected), found
    for problem, fragment in zip(found, expected):
        assert fragment in problem
