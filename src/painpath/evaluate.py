"""Moved to :mod:`painpath.bench.scoring` (benchmark scoring and simulation live together in painpath.bench).

This name stays an alias of that module (the same module object), so existing imports keep working.
"""

import sys

from painpath.bench import scoring as _moved

sys.modules[__name__] = _moved
