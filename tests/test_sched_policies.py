"""Each policy's behaviour and the op semantics, on small hand-checked scenarios."""

import numpy as np
import pytest

from coherence.errors import CoherenceError
from coherence.sched import Scenario, Thread, check, simulate
from coherence.sched.simkernel import TS_BLOCKED, TS_RUNNING, TS_SLEEPING


def sc(threads, **kw):
    return Scenario("t", [Thread(*t) if isinstance(t, tuple) else t for t in threads], **kw)


def order(sim):
    """The thread name on CPU 0 at each tick ('-' idle)."""
    return "".join(sim.thread_names[t] if t >= 0 else "-" for t in sim.timeline_run[:, 0])


def test_fifo_runs_each_thread_to_completion_and_compute_takes_n_ticks():
    sim = simulate(sc([("A", ["compute 3"]), ("B", ["compute 2"])], policy="fifo"))
    assert order(sim) == "AAABB"
    assert sim.end == "finished" and sim.ticks == 5
    assert sim.thread_stats()["B"]["waiting_ticks"] == 3


def test_round_robin_alternates_every_quantum():
    sim = simulate(sc([("A", ["compute 5"]), ("B", ["compute 3"])], policy="round-robin",
                      quantum=2))
    assert order(sim) == "AABBAABA"
    assert sim.thread_stats()["A"]["runs"] == 3


def test_yield_ends_the_slice_under_round_robin_and_fifo():
    threads = [("A", ["compute 1", "yield", "compute 1"]), ("B", ["compute 2"])]
    assert order(simulate(sc(threads, policy="round-robin", quantum=5))) == "AABBA"
    assert order(simulate(sc(threads, policy="fifo"))) == "AABBA"


def test_strict_priority_preempts_on_arrival():
    low = Thread("L", ["compute 4"], priority=1)
    high = Thread("H", ["compute 2"], priority=5, arrive=1)
    sim = simulate(sc([low, high], policy="priority"))
    assert order(sim) == "LHHLLL"


def test_priority_starves_and_aging_fixes_it():
    high = Thread("H", ["compute 1"], priority=3, repeat=True)
    low = Thread("L", ["compute 2"], priority=1)
    starved = simulate(sc([high, low], policy="priority"), max_ticks=500)
    assert starved.thread_stats()["L"]["running_ticks"] == 0
    aged = simulate(sc([high, low], policy="priority-aging", aging=3), max_ticks=500)
    st = aged.thread_stats()["L"]
    assert st["finished_at"] is not None and st["longest_ready_stretch"] <= 3 * 3 + 1


def test_lottery_is_seeded_and_proportional_to_tickets():
    threads = [Thread("A", ["compute 1"], priority=3, repeat=True),
               Thread("B", ["compute 1"], priority=1, repeat=True)]
    s = sc(threads, policy="lottery", quantum=1)
    one, two = simulate(s, seed=7, max_ticks=4000), simulate(s, seed=7, max_ticks=4000)
    assert np.array_equal(one.timeline_run, two.timeline_run)
    other = simulate(s, seed=8, max_ticks=4000)
    assert not np.array_equal(one.timeline_run, other.timeline_run)
    share = (one.timeline_run[:, 0] == 0).mean()
    assert 0.70 < share < 0.80  # 3 of 4 tickets


def test_lottery_rejects_zero_tickets():
    with pytest.raises(CoherenceError, match="ticket"):
        sc([Thread("A", ["yield"], priority=0)], policy="lottery").compile()


def test_random_policy_depends_on_seed():
    threads = [("A", ["compute 20"]), ("B", ["compute 20"])]
    runs = {order(simulate(sc(threads, policy="random"), seed=s)) for s in range(5)}
    assert len(runs) > 1


def test_priority_inheritance_boosts_the_holder():
    low = Thread("L", ["acquire M", "compute 4", "release M"], priority=1)
    high = Thread("H", ["acquire M", "release M"], priority=3, arrive=1)
    mid = Thread("M", ["compute 10"], priority=2, arrive=2)
    plain = simulate(sc([low, high, mid], policy="priority"))
    inherit = simulate(sc([low, high, mid], policy="priority-inheritance"))
    assert order(inherit).startswith("LLLLLLHH")  # L keeps the CPU until it releases M
    assert order(plain)[2:12] == "M" * 10      # M runs while H waits for L
    assert inherit.thread_stats()["H"]["finished_at"] < plain.thread_stats()["H"]["finished_at"]


def test_two_cpus_run_two_threads_per_tick():
    sim = simulate(sc([("A", ["compute 3"]), ("B", ["compute 3"])], policy="fifo", cpus=2))
    assert sim.ticks == 3
    assert (sim.timeline_status == TS_RUNNING).all()


def test_sleep_and_arrival_leave_idle_ticks():
    sim = simulate(sc([("A", ["sleep 3", "compute 1"]), Thread("B", ["compute 1"], arrive=6)]))
    assert order(sim) == "A---A-B"
    assert (sim.timeline_status[1:4, 0] == TS_SLEEPING).all()
    assert sim.thread_stats()["A"]["sleeping_ticks"] == 3


def test_blocked_on_mutex_until_release():
    holder = Thread("H", ["acquire M", "compute 3", "release M"])
    waiter = Thread("W", ["acquire M", "release M"], arrive=1)
    sim = simulate(sc([holder, waiter], policy="round-robin", quantum=1))
    assert sim.timeline_status[1, 1] == TS_BLOCKED
    assert sim.end == "finished"
    assert sim.thread_stats()["W"]["blocked_ticks"] == 4  # ticks 1..4, until H releases


def test_semaphores_block_and_release():
    s = Scenario("sem", [Thread("C", ["sem_wait S", "compute 1"]),
                         Thread("P", ["compute 3", "sem_post S"])], semaphores={"S": 0})
    sim = simulate(s)
    assert sim.end == "finished"
    assert sim.thread_stats()["C"]["blocked_ticks"] >= 3


def test_condition_wait_signal_broadcast():
    waiters = [Thread(f"W{i}", ["acquire M", "wait C M", "release M"]) for i in range(2)]
    signal = Thread("S", ["compute 4", "acquire M", "broadcast C", "release M"])
    assert simulate(sc(waiters + [signal])).end == "finished"
    one = Thread("S", ["compute 4", "acquire M", "signal C", "release M"])
    rep = check(sc(waiters + [one]))
    assert rep.kinds() == {"lost-wakeup"}  # one waiter is never woken
    assert len(rep.of_kind("lost-wakeup")[0].threads) == 1


def test_rwlock_is_reader_preferring():
    r1 = Thread("R1", ["read_lock L", "compute 3", "read_unlock L"])
    w = Thread("W", ["write_lock L", "write_unlock L"], arrive=1)
    r2 = Thread("R2", ["read_lock L", "read_unlock L"], arrive=2)
    sim = simulate(sc([r1, w, r2], policy="round-robin", quantum=1))
    # R2 enters while W waits: the writer is bypassed
    assert sim.thread_stats()["W"]["bypassed"] == 1


def test_try_acquire_jumps_on_failure():
    a = Thread("A", ["acquire L", "compute 3", "release L"])
    b = Thread("B", ["try_acquire L else busy", "release L", "goto end", "label busy:",
                     "set missed", "label end:"], arrive=1)
    rep = check(sc([a, b], policy="round-robin", quantum=1))
    assert rep.clean
    assert rep.simulation.final_state[rep.simulation.program.layout[9]] == 1  # flag set


def test_misuse_is_reported_not_fatal():
    t = Thread("A", ["acquire L", "release L", "release L", "compute 1"])
    rep = check(sc([t]))
    assert rep.kinds() == {"lock-misuse"}
    f = rep.findings[0]
    assert f.definition == "release-not-held" and f.threads == ["A"]
    assert rep.stats["end"] == "finished"


def test_finishing_while_holding_a_lock_strands_the_waiter():
    t = Thread("A", ["acquire L"])
    u = Thread("B", ["acquire L"], arrive=2)
    rep = check(sc([t, u]))
    assert {"lock-misuse", "stuck"} <= rep.kinds()
    assert "finished-holding-lock" in {f.definition for f in rep.findings}


def test_recursive_acquire_is_a_self_deadlock():
    rep = check(sc([Thread("A", ["acquire L", "acquire L"])]))
    assert rep.kinds() == {"deadlock"}
    assert rep.findings[0].threads == ["A"]


def test_max_ticks_bound_is_reported():
    rep = check(sc([Thread("A", ["compute 1"], repeat=True), ("B", ["compute 50"])],
                   policy="lottery"), max_ticks=20)
    assert rep.stats["end"] == "max-ticks" and rep.stats["ticks"] == 20


def test_periodic_detection_stops_deterministic_runs():
    s = sc([Thread("A", ["compute 2", "yield"], repeat=True),
            Thread("B", ["compute 1"], repeat=True)])
    sim = simulate(s, max_ticks=100000)
    assert sim.end == "periodic" and sim.ticks < 50 and sim.cycle_period > 0
    full = simulate(s, max_ticks=1000, detect_cycles=False)
    assert full.end == "max-ticks"
    assert np.array_equal(full.timeline_run[:sim.ticks], sim.timeline_run)


def test_the_lock_order_graph_is_kept_for_at_most_64_lock_objects():
    # Held-lock sets are int64 masks: 64 lock objects are the limit, checked when the
    # scenario is compiled (a 65th is an error, not a run without the graph).
    def ops(locks):
        out = ["acquire M0", "acquire M1", "release M1", "release M0"]
        return out + [f"{verb} M{i}" for i in range(2, locks) for verb in ("acquire", "release")]
    sim = simulate(sc([("A", ops(64))]))
    assert sim.end == "finished" and sim.ticks == len(ops(64))
    assert sim.lock_order != {}
    with pytest.raises(CoherenceError, match="at most 64 locks"):
        simulate(sc([("A", ops(65))]))
