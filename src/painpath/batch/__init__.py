"""Score tables of cases in bulk: CSV or Parquet in, CSV or Parquet out, streamed in chunks.

One case per row. Columns: ``id`` (optional), ``age`` (whole years, 0 to 120), ``sex``
(``female``/``male``) and one column per finding key holding true / false / empty (also
1 / 0 / yes / no, any case). The answer rules are those of :mod:`painpath.cases`: a
symptom or history column the table does not have is absent, a sign column it does not
have is unknown, an empty (null) cell is unknown, and in ``self`` mode signs are hidden.

One pure function, :func:`score_frame`, turns a Polars DataFrame of input rows into a
DataFrame of results. Both paths use it:

* :func:`score_file` (``painpath batch``) streams the input with Polars
  (``LazyFrame.collect_batches``) and appends each scored chunk to the output, so memory
  stays flat whatever the input size;
* :func:`score_dask` maps it over the partitions of a ``dask.dataframe`` (Parquet), for a
  local scheduler or a ``dask.distributed`` cluster.

Needs the ``batch`` extra: ``pip install 'painpath[batch]'`` (polars, pyarrow; dask for
:func:`score_dask`).

The package, by concern:

    schema.py     BatchOptions, BatchSummary, BatchError, check_columns, output_schema: the contract
    scoring.py    score_frame: the pure function (encode the columns, assess, rank, rejects)
    reading.py    open_input, iter_chunks: detect the input format, scan it lazily, stream it in chunks
    writing.py    appending scored chunks to CSV or Parquet, moved into place only on success
    stream.py     score_file (``painpath batch``): read -> score (a few chunks at once) -> write
    dask_path.py  score_dask: score_frame over the partitions of a Dask DataFrame
"""

from __future__ import annotations

try:
    import polars  # noqa: F401  (checked here, once, for a clear message)
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("painpath.batch needs Polars and PyArrow: pip install 'painpath[batch]'") from _exc

# names imported "as" themselves: importable from painpath.batch when it was one module, and still so
from .dask_path import _score_partition as _score_partition
from .dask_path import score_dask
from .reading import CSV_EXT as CSV_EXT
from .reading import PARQUET_EXT as PARQUET_EXT
from .reading import iter_chunks as iter_chunks
from .reading import open_input as open_input
from .schema import AGE as AGE
from .schema import DEFAULT_CHUNK_SIZE, BatchError, BatchOptions, BatchSummary, check_columns, output_schema
from .schema import ID as ID
from .schema import LEVEL_NAMES as LEVEL_NAMES
from .schema import RESERVED as RESERVED
from .schema import SEX as SEX
from .schema import Format as Format
from .scoring import AGE_RULE as AGE_RULE
from .scoring import FINDING_RULE as FINDING_RULE
from .scoring import REJECT_COLUMNS as REJECT_COLUMNS
from .scoring import SEX_RULE as SEX_RULE
from .scoring import _top_k as _top_k
from .scoring import reject_message as reject_message
from .scoring import score_frame
from .stream import default_threads as default_threads
from .stream import score_file, tune_allocator

__all__ = [
    "BatchError",
    "BatchOptions",
    "BatchSummary",
    "DEFAULT_CHUNK_SIZE",
    "check_columns",
    "output_schema",
    "score_dask",
    "score_file",
    "score_frame",
    "tune_allocator",
]
