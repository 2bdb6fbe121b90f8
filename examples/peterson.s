; Peterson's lock for two cores, without a fence: correct on SC cores, broken on TSO ones.
; Each core adds 1 to `counter` 200 times inside the critical section, so a working lock
; leaves counter = 400.  On a TSO core a core's store to its flag waits in its store buffer
; while its load of the other flag goes ahead (x86 lets a load pass an older store), so both
; cores can see the other's flag down and enter together: increments are lost.
;   coherence run examples/peterson.s --model tso   (examples/peterson_fenced.s: the fix)
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
