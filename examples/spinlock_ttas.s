; Test-and-test-and-set spinlock protecting a shared counter.
; Every core adds 1 to `counter` 100 times inside the critical section, so a correct
; lock leaves counter = 100 * cores.  Run: coherence run examples/spinlock_ttas.s --cores 4
.cores 4                           ; default core count; --cores N overrides it
.data
lock:    0
counter: 0

.core all
        li   r10, 100              ; increments left
next:
spin:   ld   r1, [lock]            ; test: spin on the cached copy, no bus traffic
        bne  r1, 0, backoff
        xchg r2, [lock], 1         ; test-and-set: one bus transaction
        bne  r2, 0, spin
        ld   r3, [counter]         ; critical section
        add  r3, r3, 1
        st   [counter], r3
        st   [lock], 0             ; release
        sub  r10, r10, 1
        bne  r10, 0, next
        halt
backoff:
        pause
        jmp  spin
