"""Test helper: damage a dump's stored text the way a bad disk would, but
behind valid block checksums (so only the text layer can notice)."""
import incrdump
from incrdump import _lowlevel as L

TEXT_TREE = 5  # docs/format.md "Dump layout"


def damage_one_text(path):
    """Flip a bit of the last page's first text entry through the storage
    engine: reading that text (and any stored against it) must fail."""
    with incrdump.open(path) as d:
        page = list(d)[-1]
        rev = next(iter(page))
    key = ((page.id ^ (1 << 63)).to_bytes(8, "big") + (rev.id ^ (1 << 63)).to_bytes(8, "big")
           + b"\0")
    with L.Store(str(path), L.WRITE) as s:
        s.begin()
        frame = bytes(s.get(TEXT_TREE, key))
        s.put(TEXT_TREE, key, frame[:-1] + bytes([frame[-1] ^ 0x40]))
        s.commit()
