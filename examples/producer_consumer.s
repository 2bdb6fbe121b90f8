; Message passing through a one-slot mailbox: core 0 sends 1..100, core 1 adds them up.
; The producer writes `data` before `flag`; x86-TSO keeps stores in order, so the consumer
; that sees flag = 1 also sees the data.  Expected: sum = 5050.
.data
data: 0
flag: 0
sum:  0

.core 0                            ; producer
        li   r10, 1
send:   ld   r1, [flag]            ; wait until the slot is empty
        bne  r1, 0, send
        st   [data], r10
        st   [flag], 1
        add  r10, r10, 1
        blt  r10, 101, send
        halt

.core 1                            ; consumer
        li   r11, 0
recv:   ld   r1, [flag]            ; wait for a message
        beq  r1, 0, recv
        ld   r2, [data]
        add  r11, r11, r2
        st   [flag], 0
        add  r12, r12, 1
        blt  r12, 100, recv
        st   [sum], r11
        halt
