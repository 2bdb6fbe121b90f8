"""The standard snooping protocols for the atomic bus, written out as tables (every pair
covered, sets of states or events written as one entry where they share it, as in SLICC)."""

from __future__ import annotations

from .table import Impossible as X, Protocol, T

_I_SNOOPS = {("I", ("BusRd", "BusRdX", "BusUpgr", "BusUpd")): T("I"),
             ("I", "Evict"): X("only valid lines are evicted")}
_NO_UPDATES = X("an invalidation protocol: no cache issues BusUpd")

MSI = Protocol("msi", "ISM", {
    **_I_SNOOPS,
    ("I", "Load"): T("S", "BusRd"),
    ("I", "Store"): T("M", "BusRdX"),
    ("S", "Load"): T("S"),
    ("S", "Store"): T("M", "BusUpgr"),
    ("S", "Evict"): T("I"),
    ("S", "BusRd"): T("S"),
    ("S", "BusRdX"): T("I"),
    ("S", "BusUpgr"): T("I"),
    ("M", "Load"): T("M"),
    ("M", "Store"): T("M"),
    ("M", "Evict"): T("I", writeback=True),
    ("M", "BusRd"): T("S", supply=True, writeback=True),
    ("M", "BusRdX"): T("I", supply=True),
    ("M", "BusUpgr"): X("an upgrade needs a Shared copy, which cannot coexist with M"),
    (("S", "M"), "BusUpd"): _NO_UPDATES,
}, description="Three-state invalidation protocol; memory is updated when M is read by another.")

MESI = Protocol("mesi", "ISEM", {
    **_I_SNOOPS,
    ("I", "Load"): T("E", "BusRd", shared="S"),
    ("I", "Store"): T("M", "BusRdX"),
    ("S", "Load"): T("S"),
    ("S", "Store"): T("M", "BusUpgr"),
    ("S", "Evict"): T("I"),
    ("S", "BusRd"): T("S"),
    ("S", "BusRdX"): T("I"),
    ("S", "BusUpgr"): T("I"),
    ("E", "Load"): T("E"),
    ("E", "Store"): T("M"),
    ("E", "Evict"): T("I"),
    ("E", "BusRd"): T("S"),
    ("E", "BusRdX"): T("I"),
    ("E", "BusUpgr"): X("an upgrade needs a Shared copy, which cannot coexist with E"),
    ("M", "Load"): T("M"),
    ("M", "Store"): T("M"),
    ("M", "Evict"): T("I", writeback=True),
    ("M", "BusRd"): T("S", supply=True, writeback=True),
    ("M", "BusRdX"): T("I", supply=True),
    ("M", "BusUpgr"): X("an upgrade needs a Shared copy, which cannot coexist with M"),
    (("S", "E", "M"), "BusUpd"): _NO_UPDATES,
}, description="Illinois MESI: a read with no other copy takes E, and E→M is silent.")

MOESI = Protocol("moesi", "ISEOM", {
    **_I_SNOOPS,
    ("I", "Load"): T("E", "BusRd", shared="S"),
    ("I", "Store"): T("M", "BusRdX"),
    ("S", "Load"): T("S"),
    ("S", "Store"): T("M", "BusUpgr"),
    ("S", "Evict"): T("I"),
    ("S", "BusRd"): T("S"),
    ("S", "BusRdX"): T("I"),
    ("S", "BusUpgr"): T("I"),
    ("E", "Load"): T("E"),
    ("E", "Store"): T("M"),
    ("E", "Evict"): T("I"),
    ("E", "BusRd"): T("S"),
    ("E", "BusRdX"): T("I"),
    ("E", "BusUpgr"): X("an upgrade needs a Shared copy, which cannot coexist with E"),
    ("O", "Load"): T("O"),
    ("O", "Store"): T("M", "BusUpgr"),
    ("O", "Evict"): T("I", writeback=True),
    ("O", "BusRd"): T("O", supply=True),
    ("O", "BusRdX"): T("I", supply=True),
    ("O", "BusUpgr"): T("I"),
    ("M", "Load"): T("M"),
    ("M", "Store"): T("M"),
    ("M", "Evict"): T("I", writeback=True),
    ("M", "BusRd"): T("O", supply=True),
    ("M", "BusRdX"): T("I", supply=True),
    ("M", "BusUpgr"): X("an upgrade needs a Shared copy, which cannot coexist with M"),
    (("S", "E", "O", "M"), "BusUpd"): _NO_UPDATES,
}, description="MOESI: a dirty line read by another becomes Owned and keeps supplying it; "
               "memory is written only when the owner evicts.")

MESIF = Protocol("mesif", "ISEFM", {
    **_I_SNOOPS,
    ("I", "Load"): T("E", "BusRd", shared="F",
                     description="a read with other copies takes F: it answers the next read"),
    ("I", "Store"): T("M", "BusRdX"),
    ("S", "Load"): T("S"),
    ("S", "Store"): T("M", "BusUpgr"),
    ("S", "Evict"): T("I"),
    ("S", "BusRd"): T("S", description="S never answers a read: F does, or memory"),
    ("S", ("BusRdX", "BusUpgr")): T("I"),
    ("F", "Load"): T("F"),
    ("F", "Store"): T("M", "BusUpgr"),
    ("F", "Evict"): T("I", description="clean: nothing to write back; memory answers next"),
    ("F", "BusRd"): T("S", supply=True,
                      description="F supplies the line and hands F on to the reader"),
    ("F", "BusRdX"): T("I", supply=True),
    ("F", "BusUpgr"): T("I"),
    ("E", "Load"): T("E"),
    ("E", "Store"): T("M"),
    ("E", "Evict"): T("I"),
    ("E", "BusRd"): T("S", supply=True),
    ("E", "BusRdX"): T("I", supply=True),
    ("E", "BusUpgr"): X("an upgrade needs a Shared copy, which cannot coexist with E"),
    ("M", "Load"): T("M"),
    ("M", "Store"): T("M"),
    ("M", "Evict"): T("I", writeback=True),
    ("M", "BusRd"): T("S", supply=True, writeback=True),
    ("M", "BusRdX"): T("I", supply=True),
    ("M", "BusUpgr"): X("an upgrade needs a Shared copy, which cannot coexist with M"),
    (("S", "E", "F", "M"), "BusUpd"): _NO_UPDATES,
}, description="MESIF (Intel): like MESI, but of the clean shared copies one is Forward and "
               "answers reads cache-to-cache; the newest reader takes F.")

_NO_INVALIDATIONS = X("an update protocol: no cache issues BusRdX or BusUpgr")
DRAGON = Protocol("dragon", ["I", "E", "Sc", "Sm", "M"], {
    ("I", ("BusRd", "BusRdX", "BusUpgr", "BusUpd")): T("I"),
    ("I", "Evict"): X("only valid lines are evicted"),
    ("I", "Load"): T("E", "BusRd", shared="Sc"),
    ("I", "Store"): T("M", "BusUpd", shared="Sm",
                      description="a write miss reads the line and, when other caches hold "
                                  "it, sends them the word (BusRd and BusUpd at once)"),
    ("E", "Load"): T("E"),
    ("E", "Store"): T("M"),
    ("E", "Evict"): T("I"),
    ("E", "BusRd"): T("Sc", description="clean: memory supplies the reader"),
    ("E", "BusUpd"): T("Sc", description="another cache's write miss: memory supplies it, "
                                         "this copy takes the word"),
    ("Sc", "Load"): T("Sc"),
    ("Sc", "Store"): T("M", "BusUpd", shared="Sm",
                       description="the word goes to the other copies, which stay valid; "
                                   "with none left the line is M"),
    ("Sc", "Evict"): T("I"),
    ("Sc", "BusRd"): T("Sc"),
    ("Sc", "BusUpd"): T("Sc", description="takes the written word"),
    ("Sm", "Load"): T("Sm"),
    ("Sm", "Store"): T("M", "BusUpd", shared="Sm"),
    ("Sm", "Evict"): T("I", writeback=True),
    ("Sm", "BusRd"): T("Sm", supply=True,
                       description="the owner supplies the line; memory stays stale"),
    ("Sm", "BusUpd"): T("Sc", supply=True,
                        description="takes the word; the writer is the owner now (on a "
                                    "write miss this cache supplies the line)"),
    ("M", "Load"): T("M"),
    ("M", "Store"): T("M"),
    ("M", "Evict"): T("I", writeback=True),
    ("M", "BusRd"): T("Sm", supply=True),
    ("M", "BusUpd"): T("Sc", supply=True,
                       description="another cache's write miss: supplies the line, takes the "
                                   "word; the writer owns it now"),
    (("E", "Sc", "Sm", "M"), ("BusRdX", "BusUpgr")): _NO_INVALIDATIONS,
}, description="Dragon (Xerox PARC): update-based; a write to a shared line sends the word to "
               "the other copies (BusUpd) instead of invalidating them.  Sm owns a dirty "
               "shared line.")

PROTOCOLS = {p.name: p for p in (MSI, MESI, MOESI, MESIF, DRAGON)}
