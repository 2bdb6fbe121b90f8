"""Non-atomic protocols in the Primer's style (Sorin, Hill, Wood, Nagarajan, *A Primer on
Memory Consistency and Cache Coherence*, 2nd ed.): MSI and MESI on a split-transaction
snooping bus (chapter 7) and on a directory (chapter 8), written out as controller tables
(:mod:`.message`).  These are the stalling versions: a controller that cannot handle an event
in a transient state stalls it until the line's state changes."""

from __future__ import annotations

from .message import (STALL, Controller, Event, Message, MessageProtocol, do, send)
from .table import Impossible as X, State


def _st(name, permission="none", dirty=False, owner=False, description="", transient=None):
    return State(name, permission, dirty, owner, description,
                 transient=("^" in name) if transient is None else transient)


_PROC = ("Load", "Store", "Replacement")

# ============================================================================ directory

_DIR_MESSAGES = (
    Message("GetS", "request", description="a read miss asks the home for a copy"),
    Message("GetM", "request", description="a write miss or upgrade asks for the only copy"),
    Message("PutS", "request", description="a Shared copy is evicted"),
    Message("PutM", "request", data=True, description="a Modified copy is evicted, with data"),
    Message("Fwd-GetS", "forward", description="the home forwards a GetS to the owner"),
    Message("Fwd-GetM", "forward", description="the home forwards a GetM to the owner"),
    Message("Inv", "forward", description="invalidate a Shared copy; ack to the requestor"),
    Message("Put-Ack", "forward", description="the home took the eviction"),
    Message("Data", "response", data=True,
            description="the line; from the home it carries the number of acks to expect"),
    Message("Inv-Ack", "response", description="a sharer has invalidated its copy"),
)

_DIR_CACHE_EVENTS = (
    Event("Fwd-GetS", "Fwd-GetS"), Event("Fwd-GetM", "Fwd-GetM"), Event("Inv", "Inv"),
    Event("Put-Ack", "Put-Ack"),
    Event("Data from Dir (ack=0)", "Data", "dir_ack0"),
    Event("Data from Dir (ack>0)", "Data", "dir_acks"),
    Event("Data from Owner", "Data", "from_cache"),
    Event("Inv-Ack", "Inv-Ack", "more_acks"),
    Event("Last-Inv-Ack", "Inv-Ack", "last_ack"),
)
_DIR_CACHE_STATES = (
    _st("I", description="Invalid: no copy"),
    _st("IS^D", description="I to S, waiting for data"),
    _st("IM^AD", description="I to M, waiting for data and acks"),
    _st("IM^A", description="I to M, has the data, waiting for acks"),
    _st("S", "read", description="Shared: a clean read-only copy"),
    _st("SM^AD", "read", description="S to M, waiting for data and acks; still readable"),
    _st("SM^A", "read", description="S to M, waiting for acks; still readable"),
    _st("M", "read-write", dirty=True, owner=True, description="Modified: the only copy"),
    # not an owner: once the home has taken the PutM it may give the line to another cache
    # (M) before this one's Put-Ack arrives
    _st("MI^A", dirty=True,
        description="M evicted (PutM sent), waiting for Put-Ack; still answers forwards"),
    _st("SI^A", description="S evicted (PutS sent), waiting for Put-Ack"),
    _st("II^A", description="lost the line while evicting, waiting for Put-Ack"),
)

_DATA_EVENTS = ("Data from Dir (ack=0)", "Data from Dir (ack>0)", "Data from Owner")
_ACKS = ("Inv-Ack", "Last-Inv-Ack")
_NOT_OWNER = X("only the owner receives forwarded requests")
_NO_REQUEST = X("no request of this cache is outstanding")


def _dir_cache_common():
    """The directory cache entries MSI and MESI share."""
    return {
        # I
        ("I", "Load"): do("IS^D", send("GetS", "home")),
        ("I", "Store"): do("IM^AD", send("GetM", "home")),
        ("I", "Replacement"): X("only valid lines are replaced"),
        ("I", ("Fwd-GetS", "Fwd-GetM")): _NOT_OWNER,
        ("I", "Inv"): X("a line not held gets no Inv (evictions send PutS)"),
        ("I", "Put-Ack"): _NO_REQUEST,
        ("I", _DATA_EVENTS + _ACKS): _NO_REQUEST,
        # IS^D
        ("IS^D", _PROC): STALL,
        ("IS^D", ("Fwd-GetS", "Fwd-GetM")): _NOT_OWNER,
        ("IS^D", "Inv"): STALL,
        ("IS^D", "Put-Ack"): _NO_REQUEST,
        ("IS^D", "Data from Dir (ack=0)"): do("S", "set_acks", "perform"),
        ("IS^D", "Data from Dir (ack>0)"): X("a GetS is answered without acks"),
        ("IS^D", "Data from Owner"): do("S", "perform"),
        ("IS^D", _ACKS): X("a GetS collects no acks"),
        # IM^AD
        ("IM^AD", _PROC): STALL,
        ("IM^AD", ("Fwd-GetS", "Fwd-GetM")): STALL,
        ("IM^AD", "Inv"): X("a line being fetched for M is not a sharer"),
        ("IM^AD", "Put-Ack"): _NO_REQUEST,
        ("IM^AD", "Data from Dir (ack=0)"): do("M", "set_acks", "perform"),
        ("IM^AD", "Data from Dir (ack>0)"): do("IM^A", "set_acks"),
        ("IM^AD", "Data from Owner"): do("M", "perform"),
        ("IM^AD", "Inv-Ack"): do(None, "dec_acks",
                                 description="an ack that overtook the data: counted ahead"),
        ("IM^AD", "Last-Inv-Ack"): X("the ack count is known only with the data"),
        # IM^A
        ("IM^A", _PROC): STALL,
        ("IM^A", ("Fwd-GetS", "Fwd-GetM")): STALL,
        ("IM^A", "Inv"): X("a line being fetched for M is not a sharer"),
        ("IM^A", "Put-Ack"): _NO_REQUEST,
        ("IM^A", _DATA_EVENTS): X("the data has arrived already"),
        ("IM^A", "Inv-Ack"): do(None, "dec_acks"),
        ("IM^A", "Last-Inv-Ack"): do("M", "dec_acks", "perform"),
        # S
        ("S", "Load"): do(None, "perform"),
        ("S", "Store"): do("SM^AD", send("GetM", "home")),
        ("S", "Replacement"): do("SI^A", send("PutS", "home")),
        ("S", ("Fwd-GetS", "Fwd-GetM")): _NOT_OWNER,
        ("S", "Inv"): do("I", send("Inv-Ack", "requestor")),
        ("S", "Put-Ack"): _NO_REQUEST,
        ("S", _DATA_EVENTS + _ACKS): _NO_REQUEST,
        # SM^AD
        ("SM^AD", "Load"): do(None, "perform"),
        ("SM^AD", ("Store", "Replacement")): STALL,
        ("SM^AD", ("Fwd-GetS", "Fwd-GetM")): STALL,
        ("SM^AD", "Inv"): do("IM^AD", send("Inv-Ack", "requestor"),
                             description="another GetM was ordered first: the copy is lost"),
        ("SM^AD", "Put-Ack"): _NO_REQUEST,
        ("SM^AD", "Data from Dir (ack=0)"): do("M", "set_acks", "perform"),
        ("SM^AD", "Data from Dir (ack>0)"): do("SM^A", "set_acks"),
        ("SM^AD", "Data from Owner"): do("M", "perform"),
        ("SM^AD", "Inv-Ack"): do(None, "dec_acks"),
        ("SM^AD", "Last-Inv-Ack"): X("the ack count is known only with the data"),
        # SM^A
        ("SM^A", "Load"): do(None, "perform"),
        ("SM^A", ("Store", "Replacement")): STALL,
        ("SM^A", ("Fwd-GetS", "Fwd-GetM")): STALL,
        ("SM^A", "Inv"): X("the home ordered this GetM: no other GetM can invalidate it yet"),
        ("SM^A", "Put-Ack"): _NO_REQUEST,
        ("SM^A", _DATA_EVENTS): X("the data has arrived already"),
        ("SM^A", "Inv-Ack"): do(None, "dec_acks"),
        ("SM^A", "Last-Inv-Ack"): do("M", "dec_acks", "perform"),
        # M
        ("M", ("Load", "Store")): do(None, "perform"),
        ("M", "Replacement"): do("MI^A", send("PutM", "home")),
        ("M", "Fwd-GetS"): do("S", send("Data", "requestor+home")),
        ("M", "Fwd-GetM"): do("I", send("Data", "requestor")),
        ("M", "Inv"): X("the owner is not a sharer"),
        ("M", "Put-Ack"): _NO_REQUEST,
        ("M", _DATA_EVENTS + _ACKS): _NO_REQUEST,
        # MI^A
        ("MI^A", _PROC): STALL,
        ("MI^A", "Fwd-GetS"): do("SI^A", send("Data", "requestor+home")),
        ("MI^A", "Fwd-GetM"): do("II^A", send("Data", "requestor")),
        ("MI^A", "Inv"): X("the owner is not a sharer"),
        ("MI^A", "Put-Ack"): do("I"),
        ("MI^A", _DATA_EVENTS + _ACKS): _NO_REQUEST,
        # SI^A
        ("SI^A", _PROC): STALL,
        ("SI^A", ("Fwd-GetS", "Fwd-GetM")): _NOT_OWNER,
        ("SI^A", "Inv"): do("II^A", send("Inv-Ack", "requestor")),
        ("SI^A", "Put-Ack"): do("I"),
        ("SI^A", _DATA_EVENTS + _ACKS): _NO_REQUEST,
        # II^A
        ("II^A", _PROC): STALL,
        ("II^A", ("Fwd-GetS", "Fwd-GetM")): _NOT_OWNER,
        ("II^A", "Inv"): X("the copy is already invalidated"),
        ("II^A", "Put-Ack"): do("I"),
        ("II^A", _DATA_EVENTS + _ACKS): _NO_REQUEST,
    }


_DIR_HOME_EVENTS_MSI = (
    Event("GetS", "GetS"), Event("GetM", "GetM"),
    Event("PutS-NotLast", "PutS", "not_last_sharer"),
    Event("PutS-Last", "PutS", "last_sharer"),
    Event("PutM+data from Owner", "PutM", "from_owner"),
    Event("PutM+data from NonOwner", "PutM", "from_nonowner"),
    Event("Data", "Data"),
)
_DIR_HOME_STATES_MSI = (
    State("I", description="no cache holds the line; memory is up to date"),
    State("S", description="one or more sharers; memory is up to date"),
    State("M", description="one cache owns the line; memory may be stale"),
    State("S^D", description="M to S: waiting for the former owner's data", transient=True),
)
_PUT_ACK = send("Put-Ack", "requestor")
_PUTS = ("PutS-NotLast", "PutS-Last")


def _dir_home_common():
    return {
        ("I", "GetS"): None,  # filled in per protocol
        ("I", "GetM"): do("M", send("Data", "requestor", acks=True), "set_owner"),
        ("I", _PUTS): do(None, _PUT_ACK),
        ("I", "PutM+data from NonOwner"): do(None, _PUT_ACK),
        ("I", "PutM+data from Owner"): X("a line in I has no owner"),
        ("I", "Data"): X("no data is expected in I"),
        ("S", "GetS"): do(None, send("Data", "requestor"), "add_requestor"),
        ("S", "GetM"): do("M", send("Data", "requestor", acks=True), send("Inv", "sharers"),
                          "clear_sharers", "set_owner",
                          description="the data carries the number of sharers to hear from"),
        ("S", "PutS-NotLast"): do(None, "remove_requestor", _PUT_ACK),
        ("S", "PutS-Last"): do("I", "remove_requestor", _PUT_ACK),
        ("S", "PutM+data from NonOwner"): do(None, "remove_requestor", _PUT_ACK),
        ("S", "PutM+data from Owner"): X("a line in S has no owner"),
        ("S", "Data"): X("no data is expected in S"),
        ("M", "GetS"): do("S^D", send("Fwd-GetS", "owner"), "add_requestor", "add_owner",
                          "clear_owner"),
        ("M", "GetM"): do(None, send("Fwd-GetM", "owner"), "set_owner"),
        ("M", _PUTS): do(None, _PUT_ACK),
        ("M", "PutM+data from Owner"): do("I", "write_memory", "clear_owner", _PUT_ACK),
        ("M", "PutM+data from NonOwner"): do(None, _PUT_ACK),
        ("M", "Data"): X("the owner sends data to the home only after a Fwd-GetS"),
        ("S^D", ("GetS", "GetM")): STALL,
        ("S^D", _PUTS): do(None, "remove_requestor", _PUT_ACK),
        ("S^D", "PutM+data from NonOwner"): do(None, "remove_requestor", _PUT_ACK),
        ("S^D", "PutM+data from Owner"): X("the owner was cleared when S^D was entered"),
        ("S^D", "Data"): do("S", "write_memory"),
    }


def _dir_msi():
    cache = _dir_cache_common()
    home = _dir_home_common()
    home[("I", "GetS")] = do("S", send("Data", "requestor"), "add_requestor")
    return MessageProtocol(
        "msi-directory", "directory", _DIR_MESSAGES,
        Controller("cache", _DIR_CACHE_STATES, _DIR_CACHE_EVENTS, cache),
        Controller("home", _DIR_HOME_STATES_MSI, _DIR_HOME_EVENTS_MSI, home),
        ordered=("forward",), family="msi",
        description="The Primer's directory MSI (tables 8.1 and 8.2): 3-hop forwarding to "
                    "the owner, invalidation acks collected by the requestor, the forward "
                    "network point-to-point ordered.")


def _dir_mesi():
    messages = _DIR_MESSAGES + (
        Message("PutE", "request", description="an Exclusive (clean) copy is evicted"),
        Message("Exclusive-Data", "response", data=True,
                description="the line, and no other cache holds it: the requestor takes E"),
    )
    cache = _dir_cache_common()
    events = _DIR_CACHE_EVENTS + (Event("Exclusive Data from Dir", "Exclusive-Data"),)
    states = _DIR_CACHE_STATES + (
        _st("E", "read-write", owner=True, description="Exclusive: the only copy, clean"),
        _st("EI^A",   # not an owner, as MI^A: the home may have taken the PutE already
            description="E evicted (PutE sent), waiting for Put-Ack; still answers forwards"),
    )
    excl = "Exclusive Data from Dir"
    for s in ("I", "IM^AD", "IM^A", "S", "SM^AD", "SM^A", "M", "MI^A", "SI^A", "II^A"):
        cache[(s, excl)] = X("exclusive data answers only a GetS from a line in I")
    cache[("IS^D", excl)] = do("E", "perform")
    # the home made this cache the owner (E) when it sent the Exclusive-Data, so a forward
    # for a later request can overtake the data (forward and response networks are not
    # ordered with each other): it waits until the data is here
    cache[("IS^D", ("Fwd-GetS", "Fwd-GetM"))] = STALL
    cache.update({
        ("E", "Load"): do(None, "perform"),
        ("E", "Store"): do("M", "perform", description="silent upgrade: no message"),
        ("E", "Replacement"): do("EI^A", send("PutE", "home")),
        ("E", "Fwd-GetS"): do("S", send("Data", "requestor+home")),
        ("E", "Fwd-GetM"): do("I", send("Data", "requestor")),
        ("E", "Inv"): X("the owner is not a sharer"),
        ("E", "Put-Ack"): _NO_REQUEST,
        ("E", _DATA_EVENTS + _ACKS + (excl,)): _NO_REQUEST,
        ("EI^A", _PROC): STALL,
        ("EI^A", "Fwd-GetS"): do("SI^A", send("Data", "requestor+home")),
        ("EI^A", "Fwd-GetM"): do("II^A", send("Data", "requestor")),
        ("EI^A", "Inv"): X("the owner is not a sharer"),
        ("EI^A", "Put-Ack"): do("I"),
        ("EI^A", _DATA_EVENTS + _ACKS + (excl,)): _NO_REQUEST,
    })
    home = _dir_home_common()
    home_events = _DIR_HOME_EVENTS_MSI + (
        Event("PutE from Owner", "PutE", "from_owner"),
        Event("PutE from NonOwner", "PutE", "from_nonowner"),
    )
    home_states = _DIR_HOME_STATES_MSI + (
        State("E", description="one cache holds the line exclusively (it may have written it "
                               "silently)"),)
    home.update({
        ("I", "GetS"): do("E", send("Exclusive-Data", "requestor"), "set_owner"),
        ("I", "PutE from NonOwner"): do(None, _PUT_ACK),
        ("I", "PutE from Owner"): X("a line in I has no owner"),
        ("S", "PutE from NonOwner"): do(None, "remove_requestor", _PUT_ACK),
        ("S", "PutE from Owner"): X("a line in S has no owner"),
        ("M", "PutE from NonOwner"): do(None, _PUT_ACK),
        ("M", "PutE from Owner"): X("the owner of a line in M took it with GetM: it is not "
                                    "in E"),
        ("S^D", "PutE from NonOwner"): do(None, "remove_requestor", _PUT_ACK),
        ("S^D", "PutE from Owner"): X("the owner was cleared when S^D was entered"),
        ("E", "GetS"): do("S^D", send("Fwd-GetS", "owner"), "add_requestor", "add_owner",
                          "clear_owner"),
        ("E", "GetM"): do("M", send("Fwd-GetM", "owner"), "set_owner"),
        ("E", _PUTS): do(None, _PUT_ACK),
        ("E", "PutM+data from Owner"): do("I", "write_memory", "clear_owner", _PUT_ACK,
                                          description="the owner wrote the line silently"),
        ("E", "PutM+data from NonOwner"): do(None, _PUT_ACK),
        ("E", "PutE from Owner"): do("I", "clear_owner", _PUT_ACK),
        ("E", "PutE from NonOwner"): do(None, _PUT_ACK),
        ("E", "Data"): X("the owner sends data to the home only after a Fwd-GetS"),
    })
    return MessageProtocol(
        "mesi-directory", "directory", messages,
        Controller("cache", states, events, cache),
        Controller("home", home_states, home_events, home),
        ordered=("forward",), family="mesi",
        description="The Primer's directory MESI (section 8.5): MSI plus E, given by the home "
                    "to a GetS when no cache holds the line; E to M is silent and an E "
                    "eviction sends PutE without data.")


# ============================================================================ split bus

_SPLIT_MESSAGES = (
    Message("GetS", "bus", description="a read miss, ordered on the address bus"),
    Message("GetM", "bus", description="a write miss or upgrade, ordered on the address bus"),
    Message("PutM", "bus", description="an M copy is evicted; the data follows to memory"),
    Message("Data", "data", data=True, description="the line, on the data network"),
)
_BUS_EVENTS = (
    Event("Own-GetS", "GetS", "own"), Event("Other-GetS", "GetS", "other"),
    Event("Own-GetM", "GetM", "own"), Event("Other-GetM", "GetM", "other"),
    Event("Own-PutM", "PutM", "own"), Event("Other-PutM", "PutM", "other"),
    Event("Data", "Data"),
)
_SPLIT_CACHE_STATES = (
    _st("I", description="Invalid: no copy"),
    _st("IS^AD", description="I to S, waiting for its GetS to be ordered and for data"),
    _st("IS^D", description="I to S, GetS ordered, waiting for data"),
    _st("IM^AD", description="I to M, waiting for its GetM to be ordered and for data"),
    _st("IM^D", description="I to M, GetM ordered (this cache answers for the line next), "
                            "waiting for data"),
    _st("S", "read", description="Shared: a clean read-only copy"),
    _st("SM^AD", "read", description="S to M, waiting for the GetM to be ordered and data"),
    _st("SM^D", "read", description="S to M, GetM ordered, waiting for data"),
    _st("M", "read-write", dirty=True, owner=True, description="Modified: the only copy"),
    _st("MI^A", dirty=True, owner=True,
        description="M evicted, waiting for its PutM to be ordered; still answers requests"),
    _st("II^A", description="lost the line while evicting, waiting for its PutM to be "
                            "ordered"),
)
_OWN = ("Own-GetS", "Own-GetM", "Own-PutM")
_OTHER = ("Other-GetS", "Other-GetM", "Other-PutM")
_NOT_MINE = X("this cache has no such request on the bus")
_NO_DATA = X("no data is expected in this state")


def _split_cache_common():
    return {
        ("I", "Load"): do("IS^AD", send("GetS", "bus")),
        ("I", "Store"): do("IM^AD", send("GetM", "bus")),
        ("I", "Replacement"): X("only valid lines are replaced"),
        ("I", _OWN): _NOT_MINE,
        ("I", _OTHER): do(),
        ("I", "Data"): _NO_DATA,
        ("IS^AD", _PROC): STALL,
        ("IS^AD", "Own-GetS"): do("IS^D"),
        ("IS^AD", ("Own-GetM", "Own-PutM")): _NOT_MINE,
        ("IS^AD", _OTHER): do(),
        ("IS^AD", "Data"): X("data comes only after the request is ordered"),
        ("IS^D", _PROC): STALL,
        ("IS^D", _OWN): _NOT_MINE,
        ("IS^D", "Other-GetS"): do(),
        ("IS^D", "Other-GetM"): STALL,
        ("IS^D", "Other-PutM"): do(),
        ("IS^D", "Data"): do("S", "perform"),
        ("IM^AD", _PROC): STALL,
        ("IM^AD", "Own-GetM"): do("IM^D"),
        ("IM^AD", ("Own-GetS", "Own-PutM")): _NOT_MINE,
        ("IM^AD", _OTHER): do(),
        ("IM^AD", "Data"): X("data comes only after the request is ordered"),
        ("IM^D", _PROC): STALL,
        ("IM^D", _OWN): _NOT_MINE,
        ("IM^D", ("Other-GetS", "Other-GetM")): STALL,
        ("IM^D", "Other-PutM"): do(),
        ("IM^D", "Data"): do("M", "perform"),
        ("S", "Load"): do(None, "perform"),
        ("S", "Store"): do("SM^AD", send("GetM", "bus")),
        ("S", "Replacement"): do("I", description="silent: memory is up to date"),
        ("S", _OWN): _NOT_MINE,
        ("S", "Other-GetS"): do(),
        ("S", "Other-GetM"): do("I"),
        ("S", "Other-PutM"): do(),
        ("S", "Data"): _NO_DATA,
        ("SM^AD", "Load"): do(None, "perform"),
        ("SM^AD", ("Store", "Replacement")): STALL,
        ("SM^AD", "Own-GetM"): do("SM^D"),
        ("SM^AD", ("Own-GetS", "Own-PutM")): _NOT_MINE,
        ("SM^AD", "Other-GetS"): do(),
        ("SM^AD", "Other-GetM"): do("IM^AD", description="another GetM was ordered first"),
        ("SM^AD", "Other-PutM"): do(),
        ("SM^AD", "Data"): X("data comes only after the request is ordered"),
        ("SM^D", "Load"): do(None, "perform"),
        ("SM^D", ("Store", "Replacement")): STALL,
        ("SM^D", _OWN): _NOT_MINE,
        ("SM^D", ("Other-GetS", "Other-GetM")): STALL,
        ("SM^D", "Other-PutM"): do(),
        ("SM^D", "Data"): do("M", "perform"),
        ("M", ("Load", "Store")): do(None, "perform"),
        ("M", "Replacement"): do("MI^A", send("PutM", "bus")),
        ("M", _OWN): _NOT_MINE,
        ("M", "Other-GetS"): do("S", send("Data", "requestor+home")),
        ("M", "Other-GetM"): do("I", send("Data", "requestor")),
        ("M", "Other-PutM"): do(),
        ("M", "Data"): _NO_DATA,
        ("MI^A", _PROC): STALL,
        ("MI^A", "Own-PutM"): do("I", send("Data", "home")),
        ("MI^A", ("Own-GetS", "Own-GetM")): _NOT_MINE,
        ("MI^A", "Other-GetS"): do("II^A", send("Data", "requestor+home")),
        ("MI^A", "Other-GetM"): do("II^A", send("Data", "requestor")),
        ("MI^A", "Other-PutM"): do(),
        ("MI^A", "Data"): _NO_DATA,
        ("II^A", _PROC): STALL,
        ("II^A", "Own-PutM"): do("I", description="memory ignores a PutM from a non-owner"),
        ("II^A", ("Own-GetS", "Own-GetM")): _NOT_MINE,
        ("II^A", _OTHER): do(),
        ("II^A", "Data"): _NO_DATA,
    }


_MEM_STATES = (
    State("IorS", description="memory owns the line (no cache, or clean copies)"),
    State("IorS^D", description="waiting for the former owner's data", transient=True),
    State("M", description="a cache owns the line (M)"),
)
_MEM_EVENTS = (
    Event("GetS", "GetS"), Event("GetM", "GetM"),
    Event("PutM from Owner", "PutM", "from_owner"),
    Event("PutM from NonOwner", "PutM", "from_nonowner"),
    Event("Data", "Data"),
)


def _split_msi():
    home = {
        ("IorS", "GetS"): do(None, send("Data", "requestor")),
        ("IorS", "GetM"): do("M", send("Data", "requestor"), "set_owner"),
        ("IorS", "PutM from Owner"): X("memory owns the line"),
        ("IorS", "PutM from NonOwner"): do(),
        ("IorS", "Data"): X("no data is expected"),
        ("IorS^D", ("GetS", "GetM")): STALL,
        ("IorS^D", "PutM from Owner"): X("the owner was cleared"),
        ("IorS^D", "PutM from NonOwner"): do(),
        ("IorS^D", "Data"): do("IorS", "write_memory"),
        ("M", "GetS"): do("IorS^D", "clear_owner",
                          description="the owner sends the data to the requestor and here"),
        ("M", "GetM"): do(None, "set_owner", description="the owner sends the data"),
        ("M", "PutM from Owner"): do("IorS^D", "clear_owner"),
        ("M", "PutM from NonOwner"): do(),
        ("M", "Data"): X("data comes after a GetS or the owner's PutM"),
    }
    return MessageProtocol(
        "msi-split-bus", "split-bus", _SPLIT_MESSAGES,
        Controller("cache", _SPLIT_CACHE_STATES, _BUS_EVENTS, _split_cache_common()),
        Controller("home", _MEM_STATES, _MEM_EVENTS, home, initial="IorS"),
        family="msi",
        description="The Primer's MSI on a split-transaction bus (section 7.5, stalling): "
                    "requests ordered on an atomic address bus, data on a separate "
                    "unordered network; memory knows the owner.")


def _split_mesi():
    messages = tuple(m for m in _SPLIT_MESSAGES) + (
        Message("PutE", "bus", description="an E copy is evicted (no data)"),
        Message("Exclusive-Data", "data", data=True,
                description="the line, and no other cache asserted shared: take E"),
    )
    events = _BUS_EVENTS + (Event("Own-PutE", "PutE", "own"),
                            Event("Other-PutE", "PutE", "other"),
                            Event("Exclusive Data", "Exclusive-Data"))
    states = _SPLIT_CACHE_STATES + (
        _st("E", "read-write", owner=True, description="Exclusive: the only copy, clean"),
        _st("EI^A", owner=True,
            description="E evicted, waiting for its PutE to be ordered; still answers"),
    )
    cache = _split_cache_common()
    own = _OWN + ("Own-PutE",)
    for s in [x.name for x in _SPLIT_CACHE_STATES]:
        cache[(s, "Own-PutE")] = X("this cache has no PutE on the bus")
        cache[(s, "Other-PutE")] = do()
        cache[(s, "Exclusive Data")] = X("exclusive data answers only a GetS")
    # holders of a copy (or of one to come) assert the shared signal on another's GetS
    cache[("S", "Other-GetS")] = do(None, "assert_shared")
    cache[("SM^AD", "Other-GetS")] = do(None, "assert_shared")
    cache[("IS^D", "Other-GetS")] = STALL   # the data may be E: answer when it is here
    cache[("IS^D", "Exclusive Data")] = do("E", "perform")
    cache[("II^A", "Own-PutE")] = do("I", description="memory ignores a PutE from a "
                                                      "non-owner")
    cache[("M", "Other-GetS")] = do("S", "assert_shared", send("Data", "requestor+home"))
    cache.update({
        ("E", "Load"): do(None, "perform"),
        ("E", "Store"): do("M", "perform", description="silent upgrade"),
        ("E", "Replacement"): do("EI^A", send("PutE", "bus")),
        ("E", own): _NOT_MINE,
        ("E", "Other-GetS"): do("S", "assert_shared", send("Data", "requestor+home")),
        ("E", "Other-GetM"): do("I", send("Data", "requestor")),
        ("E", ("Other-PutM", "Other-PutE")): do(),
        ("E", ("Data", "Exclusive Data")): _NO_DATA,
        ("EI^A", _PROC): STALL,
        ("EI^A", "Own-PutE"): do("I"),
        ("EI^A", ("Own-GetS", "Own-GetM", "Own-PutM")): _NOT_MINE,
        ("EI^A", "Other-GetS"): do("II^A", send("Data", "requestor+home")),
        ("EI^A", "Other-GetM"): do("II^A", send("Data", "requestor")),
        ("EI^A", ("Other-PutM", "Other-PutE")): do(),
        ("EI^A", ("Data", "Exclusive Data")): _NO_DATA,
    })
    mem_events = (Event("GetS (shared)", "GetS", "shared"),
                  Event("GetS (alone)", "GetS", "alone")) + _MEM_EVENTS[1:] + (
        Event("PutE from Owner", "PutE", "from_owner"),
        Event("PutE from NonOwner", "PutE", "from_nonowner"))
    mem_states = (_MEM_STATES[0], _MEM_STATES[1],
                  State("EorM", description="a cache owns the line (E or M)"))
    gets = ("GetS (shared)", "GetS (alone)")
    puts_non = ("PutM from NonOwner", "PutE from NonOwner")
    home = {
        ("IorS", "GetS (shared)"): do(None, send("Data", "requestor")),
        ("IorS", "GetS (alone)"): do("EorM", send("Exclusive-Data", "requestor"), "set_owner"),
        ("IorS", "GetM"): do("EorM", send("Data", "requestor"), "set_owner"),
        ("IorS", ("PutM from Owner", "PutE from Owner")): X("memory owns the line"),
        ("IorS", puts_non): do(),
        ("IorS", "Data"): X("no data is expected"),
        ("IorS^D", gets + ("GetM",)): STALL,
        ("IorS^D", ("PutM from Owner", "PutE from Owner")): X("the owner was cleared"),
        ("IorS^D", puts_non): do(),
        ("IorS^D", "Data"): do("IorS", "write_memory"),
        ("EorM", gets): do("IorS^D", "clear_owner"),
        ("EorM", "GetM"): do(None, "set_owner"),
        ("EorM", "PutM from Owner"): do("IorS^D", "clear_owner"),
        ("EorM", "PutE from Owner"): do("IorS", "clear_owner",
                                        description="clean: memory is up to date"),
        ("EorM", puts_non): do(),
        ("EorM", "Data"): X("data comes after a GetS or the owner's PutM"),
    }
    return MessageProtocol(
        "mesi-split-bus", "split-bus", messages,
        Controller("cache", states, events, cache),
        Controller("home", mem_states, mem_events, home, initial="IorS"),
        family="mesi",
        description="MESI on the split-transaction bus: a GetS that no other cache asserts "
                    "the shared signal for gets Exclusive-Data and takes E; E to M is "
                    "silent; an E eviction puts PutE on the bus, without data.")


def _split_moesi():
    base = _split_mesi()
    states = tuple(base.cache.declared) + (
        _st("O", "read", dirty=True, owner=True,
            description="Owned: dirty, other caches may hold S copies; this one answers"),
        _st("OM^AD", "read", dirty=True, owner=True,
            description="O to M, waiting for its GetM to be ordered; still readable and "
                        "still answers"),
        _st("OM^D", "read", dirty=True, owner=True,
            description="O to M, GetM ordered, waiting for its own data to come back "
                        "through the data network (behind the data it sent earlier)"),
    )
    cache = dict(base.cache.table)
    own = _OWN + ("Own-PutE",)
    cache.update({
        ("M", "Other-GetS"): do("O", "assert_shared", send("Data", "requestor"),
                                description="keeps the dirty line and answers from now on; "
                                            "memory is not written"),
        ("E", "Other-GetS"): do("O", "assert_shared", send("Data", "requestor"),
                                description="memory counts this cache as the owner, so it "
                                            "keeps answering (O); clean data, written back "
                                            "on eviction all the same"),
        ("MI^A", "Other-GetS"): do(None, "assert_shared", send("Data", "requestor"),
                                   description="still the owner until its PutM is ordered"),
        ("EI^A", "Other-GetS"): do(None, "assert_shared", send("Data", "requestor")),
        ("O", "Load"): do(None, "perform"),
        ("O", "Store"): do("OM^AD", send("GetM", "bus")),
        ("O", "Replacement"): do("MI^A", send("PutM", "bus")),
        ("O", own): _NOT_MINE,
        ("O", "Other-GetS"): do(None, "assert_shared", send("Data", "requestor")),
        ("O", "Other-GetM"): do("I", send("Data", "requestor")),
        ("O", ("Other-PutM", "Other-PutE")): do(),
        ("O", ("Data", "Exclusive Data")): _NO_DATA,
        ("OM^AD", "Load"): do(None, "perform"),
        ("OM^AD", ("Store", "Replacement")): STALL,
        ("OM^AD", "Own-GetM"): do("OM^D", send("Data", "requestor"),
                                  description="the owner has the line, but data it sent "
                                              "to an earlier reader may still be in flight: "
                                              "it sends the line to itself on the data "
                                              "network and writes only when that arrives, "
                                              "after the reader's"),
        ("OM^AD", ("Own-GetS", "Own-PutM", "Own-PutE")): _NOT_MINE,
        ("OM^AD", "Other-GetS"): do(None, "assert_shared", send("Data", "requestor")),
        ("OM^AD", "Other-GetM"): do("IM^AD", send("Data", "requestor"),
                                    description="another GetM was ordered first: it takes "
                                                "the line, this one waits for it again"),
        ("OM^AD", ("Other-PutM", "Other-PutE")): do(),
        ("OM^AD", ("Data", "Exclusive Data")): _NO_DATA,
        ("OM^D", "Load"): do(None, "perform"),
        ("OM^D", ("Store", "Replacement")): STALL,
        ("OM^D", ("Own-GetS", "Own-GetM", "Own-PutM", "Own-PutE")): _NOT_MINE,
        ("OM^D", ("Other-GetS", "Other-GetM")): STALL,
        ("OM^D", ("Other-PutM", "Other-PutE")): do(),
        ("OM^D", "Data"): do("M", "perform"),
        ("OM^D", "Exclusive Data"): _NO_DATA,
    })
    gets = ("GetS (shared)", "GetS (alone)")
    puts_non = ("PutM from NonOwner", "PutE from NonOwner")
    home_states = (_MEM_STATES[0], _MEM_STATES[1],
                   State("Owned", description="a cache owns the line (E, M or O) and answers "
                                              "requests"))
    home = {
        ("IorS", "GetS (shared)"): do(None, send("Data", "requestor")),
        ("IorS", "GetS (alone)"): do("Owned", send("Exclusive-Data", "requestor"),
                                     "set_owner"),
        ("IorS", "GetM"): do("Owned", send("Data", "requestor"), "set_owner"),
        ("IorS", ("PutM from Owner", "PutE from Owner")): X("memory owns the line"),
        ("IorS", puts_non): do(),
        ("IorS", "Data"): X("no data is expected"),
        ("IorS^D", gets + ("GetM",)): STALL,
        ("IorS^D", ("PutM from Owner", "PutE from Owner")): X("the owner was cleared"),
        ("IorS^D", puts_non): do(),
        ("IorS^D", "Data"): do("IorS", "write_memory"),
        ("Owned", gets): do(description="the owner answers"),
        ("Owned", "GetM"): do(None, "set_owner"),
        ("Owned", "PutM from Owner"): do("IorS^D", "clear_owner"),
        ("Owned", "PutE from Owner"): do("IorS", "clear_owner",
                                         description="clean: memory is up to date"),
        ("Owned", puts_non): do(),
        ("Owned", "Data"): X("data comes only after the owner's PutM"),
    }
    return MessageProtocol(
        "moesi-split-bus", "split-bus", base.messages,
        Controller("cache", states, [e for e in base.cache.events if e.message], cache),
        Controller("home", home_states, [e for e in base.home.events], home, initial="IorS"),
        family="moesi",
        description="MOESI on the split-transaction bus: an owner (M, E or O) answers every "
                    "GetS itself and keeps the line (O), so memory is written only when the "
                    "owner evicts it; O upgrades with a GetM and takes its own line back "
                    "through the data network.")


DIR_MSI = _dir_msi()
DIR_MESI = _dir_mesi()
SPLIT_MSI = _split_msi()
SPLIT_MESI = _split_mesi()
SPLIT_MOESI = _split_moesi()

#: The shipped message protocols by (family, interconnect).
MESSAGE_PROTOCOLS = {(p.family, p.interconnect): p
                     for p in (DIR_MSI, DIR_MESI, SPLIT_MSI, SPLIT_MESI, SPLIT_MOESI)}
