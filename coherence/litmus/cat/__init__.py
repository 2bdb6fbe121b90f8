"""herd's cat language: memory models as data.

* :func:`~.model.load_model` reads a cat file (``include`` resolved against the including
  file's folder, then a search path, then the shipped models);
* :meth:`~.model.Model.check` evaluates it on one candidate execution
  (:mod:`coherence.litmus.executions`), relations being numpy boolean matrices
  (:mod:`.values`: herd's values, sets of values, tags, events and pairs; :mod:`.prims`: the
  primitives, in the project's flavour or herd's; :mod:`.regs`: herd's register events for
  ``catdep`` models);
* :func:`~.verdict.cat_verdict` gives herd's verdict for a litmus test under a model.

The models shipped in ``models/`` (``sc``, ``x86-tso``, ``aarch64``, ``riscv``) were written
for this project from the published definitions; see docs/litmus.md.
"""

from .model import load_model, resolve_model, shipped_models  # noqa: F401
