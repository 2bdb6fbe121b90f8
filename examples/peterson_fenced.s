; Peterson's lock for two cores with an mfence after each core's stores to its flag and
; to `turn`: the load of the other core's flag waits until they are visible, so the lock
; works on TSO cores too (compare examples/peterson.s).  counter = 400 at the end.
.cores 2
.data
flag0:   0
flag1:   0
turn:    0
counter: 0

.core 0
        li   r10, 200
again:  st   [flag0], 1            ; I want to enter
        st   [turn], 1             ; you go first
        mfence                     ; make both visible before reading the other flag
wait:   ld   r1, [flag1]           ; wait while the other wants in and it is its turn
        beq  r1, 0, enter
        ld   r2, [turn]
        beq  r2, 1, wait
enter:  ld   r3, [counter]         ; critical section
        add  r3, r3, 1
        st   [counter], r3
        st   [flag0], 0            ; leave
        sub  r10, r10, 1
        bne  r10, 0, again
        halt

.core 1
        li   r10, 200
again:  st   [flag1], 1
        st   [turn], 0
        mfence
wait:   ld   r1, [flag0]
        beq  r1, 0, enter
        ld   r2, [turn]
        beq  r2, 0, wait
enter:  ld   r3, [counter]
        add  r3, r3, 1
        st   [counter], r3
        st   [flag1], 0
        sub  r10, r10, 1
        bne  r10, 0, again
        halt
