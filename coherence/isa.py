"""Instruction encoding: every instruction is one row of int64 fields.

Kernels read these rows directly, so the layout is fixed here and nowhere else.  A memory
operand is ``[sym+off]`` or ``[rN+off]``: the absolute byte address is ``ADDR`` plus the value
of register ``RA`` when ``RA >= 0`` (``ADDR`` is resolved from the symbol at link time).
Operand B (and C for ``cas``) is a register when its ``*REG`` flag is 1, else an immediate.
"""

from __future__ import annotations

import numpy as np

# Field indices of one instruction row.
F_OP, F_RD, F_RA, F_ADDR, F_BREG, F_B, F_CREG, F_C = range(8)
NFIELDS = 8
NREGS = 16

# Opcodes.
(OP_NOP, OP_MOV, OP_LD, OP_ST, OP_MFENCE, OP_XCHG, OP_CAS, OP_FAA,
 OP_ADD, OP_SUB, OP_AND, OP_OR, OP_XOR,
 OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_JMP, OP_PAUSE, OP_DELAY, OP_HALT) = range(21)

OPNAMES = ("nop", "mov", "ld", "st", "mfence", "xchg", "cas", "faa",
           "add", "sub", "and", "or", "xor",
           "beq", "bne", "blt", "bge", "jmp", "pause", "delay", "halt")

MEMORY_OPS = frozenset({OP_LD, OP_ST, OP_XCHG, OP_CAS, OP_FAA})
RMW_OPS = frozenset({OP_XCHG, OP_CAS, OP_FAA})
BRANCH_OPS = frozenset({OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_JMP})
ALU_OPS = frozenset({OP_ADD, OP_SUB, OP_AND, OP_OR, OP_XOR})

WORD = 8  # bytes per memory word; every access is one aligned word


def encode(op: int, rd: int = -1, ra: int = -1, addr: int = 0, b: int = 0, breg: bool = False,
           c: int = 0, creg: bool = False) -> np.ndarray:
    """One instruction row (see the field constants above)."""
    row = np.zeros(NFIELDS, dtype=np.int64)
    row[F_OP], row[F_RD], row[F_RA], row[F_ADDR] = op, rd, ra, addr
    row[F_BREG], row[F_B], row[F_CREG], row[F_C] = int(breg), b, int(creg), c
    return row


def disassemble(row) -> str:
    """Human-readable text of one encoded row (addresses shown as numbers)."""
    op = int(row[F_OP])
    name = OPNAMES[op]

    def operand(is_reg, v):
        return f"r{int(v)}" if is_reg else str(int(v))

    def mem():
        base = f"r{int(row[F_RA])}+" if row[F_RA] >= 0 else ""
        return f"[{base}{int(row[F_ADDR])}]"

    b = operand(row[F_BREG], row[F_B])
    if op == OP_MOV:
        return f"mov r{row[F_RD]}, {b}"
    if op == OP_LD:
        return f"ld r{row[F_RD]}, {mem()}"
    if op == OP_ST:
        return f"st {mem()}, {b}"
    if op in (OP_XCHG, OP_FAA):
        return f"{name} r{row[F_RD]}, {mem()}, {b}"
    if op == OP_CAS:
        return f"cas r{row[F_RD]}, {mem()}, {b}, {operand(row[F_CREG], row[F_C])}"
    if op in ALU_OPS:
        return f"{name} r{row[F_RD]}, r{row[F_RA]}, {b}"
    if op in (OP_BEQ, OP_BNE, OP_BLT, OP_BGE):
        return f"{name} r{row[F_RA]}, {b}, {int(row[F_ADDR])}"
    if op == OP_JMP:
        return f"jmp {int(row[F_ADDR])}"
    if op == OP_DELAY:
        return f"delay {b}"
    return name
