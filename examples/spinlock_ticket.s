; Ticket lock protecting a shared counter.
; A core takes a ticket with an atomic fetch-and-add on `next_ticket` and waits until
; `now_serving` reaches it; releasing the lock serves the next ticket.  Cores enter in
; ticket order (FIFO), so no core can be overtaken while it waits.  Waiting is a plain
; load, which hits in the cache until the holder's release invalidates it.
; Every core adds 1 to `counter` 100 times, so a correct lock leaves counter = 100 * cores.
; Run: coherence run examples/spinlock_ticket.s --cores 4
.cores 4                           ; default core count; --cores N overrides it
.data
next_ticket: 0
now_serving: 0
counter:     0

.core all
        li   r10, 100              ; increments left
acquire:
        faa  r1, [next_ticket], 1  ; my ticket
wait:   ld   r2, [now_serving]
        bne  r2, r1, wait          ; not my turn yet
        ld   r3, [counter]         ; critical section
        add  r3, r3, 1
        st   [counter], r3
        add  r2, r2, 1             ; release: serve the next ticket (only the holder
        st   [now_serving], r2     ; writes now_serving, so a plain store is enough)
        sub  r10, r10, 1
        bne  r10, 0, acquire
        halt
