"""``python -m benchmarks``: see benchmarks/run.py."""

import os
import sys

# Speeds are per core: numpy's BLAS gets one thread unless the user chose otherwise. Set before
# numpy loads (it reads these once); worker processes and the timed CLI runs inherit them.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from benchmarks.run import main  # noqa: E402

sys.exit(main())
