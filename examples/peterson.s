; Peterson's mutual exclusion for two cores, with NO fence: correct on SC cores, broken on
; x86-TSO, where each core's `st [flag+me]` can still sit in its store buffer when it reads
; the other's flag, so both enter the critical section and an increment is lost.
;   coherence run examples/peterson.s --model tso --runs 1000 --expect counter=400
; shows the lost updates; examples/peterson_fenced.s (an mfence after the turn store) shows
; none.  %core is the core's number (0 or 1): both cores run this one copy of the code.
.data
flag:    0 0              ; flag[0], flag[1]: "I want to enter"
turn:    0
counter: 0

.cores 2
.core all
        li   r10, %core       ; me
        li   r11, 1
        sub  r11, r11, r10    ; other = 1 - me
        add  r12, r10, r10    ; r12 = 8 * me (byte offset of flag[me])
        add  r12, r12, r12
        add  r12, r12, r12
        add  r13, r11, r11    ; r13 = 8 * other
        add  r13, r13, r13
        add  r13, r13, r13
        li   r2, 200          ; iterations
loop:   st   [flag+r12], 1    ; flag[me] = 1
        st   [turn], r11      ; turn = other
wait:   ld   r3, [flag+r13]   ; while flag[other] && turn == other: wait
        beq  r3, 0, enter
        ld   r4, [turn]
        beq  r4, r11, wait
enter:  ld   r5, [counter]    ; the critical section
        add  r5, r5, 1
        st   [counter], r5
        st   [flag+r12], 0    ; flag[me] = 0
        sub  r2, r2, 1
        bne  r2, 0, loop
        halt
