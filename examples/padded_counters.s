; Padded counters: the same work as examples/false_sharing.s, but each counter sits on
; its own cache line (the default for a symbol), so after the first miss every access hits.
.data
c0: 0
c1: 0
c2: 0
c3: 0

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
