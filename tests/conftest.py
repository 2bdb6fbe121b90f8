import os
import sys

from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = os.path.join(os.path.dirname(ROOT), "shared", "oracle", "herd-x86")

# Jitted code compiles on first use, so no per-example deadline.
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def run_cli(*args, input=None, timeout=300):
    """Run the real command line as a user does: `python -m coherence ...` in a subprocess."""
    import subprocess
    return subprocess.run([sys.executable, "-m", "coherence", *args], cwd=ROOT,
                          capture_output=True, text=True, input=input, timeout=timeout)
