; False sharing: four cores each increment their OWN counter 1000 times, but the four
; counters share one cache line, so every store steals the line from the other cores.
; Compare with examples/padded_counters.s (same program, one line per counter).
.data
.packed c0 c1 c2 c3

.core 0
        li   r10, 1000
loop:   ld   r1, [c0]
        add  r1, r1, 1
        st   [c0], r1
        sub  r10, r10, 1
        bne  r10, 0, loop
.core 1
        li   r10, 1000
loop:   ld   r1, [c1]
        add  r1, r1, 1
        st   [c1], r1
        sub  r10, r10, 1
        bne  r10, 0, loop
.core 2
        li   r10, 1000
loop:   ld   r1, [c2]
        add  r1, r1, 1
        st   [c2], r1
        sub  r10, r10, 1
        bne  r10, 0, loop
.core 3
        li   r10, 1000
loop:   ld   r1, [c3]
        add  r1, r1, 1
        st   [c3], r1
        sub  r10, r10, 1
        bne  r10, 0, loop
