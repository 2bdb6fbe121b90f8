"""The standard snooping protocols, written out as tables (every pair explicit)."""

from __future__ import annotations

from .table import Impossible as X, Protocol, T

_I_SNOOPS = {("I", "BusRd"): T("I"), ("I", "BusRdX"): T("I"), ("I", "BusUpgr"): T("I"),
             ("I", "Evict"): X("only valid lines are evicted")}

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
}, description="MOESI: a dirty line read by another becomes Owned and keeps supplying it; "
               "memory is written only when the owner evicts.")

PROTOCOLS = {p.name: p for p in (MSI, MESI, MOESI)}
