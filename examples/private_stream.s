; Private streams: every core reads and updates its own 64 KiB region, one line at a time,
; with some work on each line.  No data is shared, so nothing but the interconnect limits how the
; throughput grows with the cores: an atomic bus is held for each miss's whole memory
; latency and saturates at a couple of cores, a split-transaction bus holds its address bus
; for bus_latency per request and saturates later, a directory's home slices and network
; links keep up (see notebooks/07_interconnects.ipynb):
;   coherence plot scaling examples/private_stream.s --cores-list 1,2,4,8,16,32,64 \
;       --interconnects bus,split-bus,directory --topology mesh --out scaling.png
.data
buf:    .zero 524288            ; 64 regions of 64 KiB (8,192 words)

.core all
        li   r3, %core          ; r2 = this core's region: %core * 65536 bytes
        li   r2, 0
base:   beq  r3, 0, go
        add  r2, r2, 65536
        sub  r3, r3, 1
        jmp  base
go:     li   r10, 1024          ; one pass: 1,024 lines
loop:   ld   r1, [buf+r2]
        delay 20                ; the work done with each line
        st   [buf+r2], r10      ; and written back into it (with MESI a silent E -> M)
        add  r2, r2, 64
        sub  r10, r10, 1
        bne  r10, 0, loop
