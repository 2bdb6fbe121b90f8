; SB (store buffering), the classic x86-TSO relaxation: each core stores to its own flag and
; then loads the other's.  Sequential consistency forbids both loads seeing 0; an x86-TSO
; core allows it, since each store can still wait in its core's store buffer:
;   coherence run examples/sb.s --model tso --runs 1000 --observe 0:r1 1:r1
; shows 0:r1=0; 1:r1=0; among the four outcomes, and --model sc never does.
.data
x: 0
y: 0

.core 0
        st   [x], 1
        ld   r1, [y]

.core 1
        st   [y], 1
        ld   r1, [x]
