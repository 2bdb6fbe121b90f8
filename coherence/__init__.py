"""coherence: a multicore cache-coherence and memory-consistency emulator."""
