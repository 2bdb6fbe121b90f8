"""``python -m coherence.sched FILE...`` is ``coherence sched FILE...``."""

import sys

from .cli import main

sys.exit(main())
