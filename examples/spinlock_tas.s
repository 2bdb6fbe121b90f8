; Test-and-set spinlock protecting a shared counter.
; Every core adds 1 to `counter` 100 times inside the critical section, so a correct
; lock leaves counter = 100 * cores.  Unlike examples/spinlock_ttas.s, a waiting core
; retries the xchg itself: every attempt is a bus write (BusRdX / BusUpgr) that steals
; the lock's line from the holder and from every other waiter.
; Run: coherence run examples/spinlock_tas.s --cores 4
.cores 4                           ; default core count; --cores N overrides it
.data
lock:    0
counter: 0

.core all
        li   r10, 100              ; increments left
acquire:
        xchg r1, [lock], 1         ; test-and-set: write 1, get the old value
        bne  r1, 0, acquire        ; it was taken: try again at once
        ld   r3, [counter]         ; critical section
        add  r3, r3, 1
        st   [counter], r3
        st   [lock], 0             ; release
        sub  r10, r10, 1
        bne  r10, 0, acquire
        halt
