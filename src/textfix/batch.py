"""Fix many texts at once, and adapters for dataset engines.

:func:`fix_batch` resolves the configuration once and fixes every text with it.
The adapters wrap the same work for the engines people clean corpora with:

* :func:`hf_map_fn` for ``datasets.Dataset.map(fn, batched=True)``;
* :func:`dask_partition_fn` for ``dask.dataframe`` and ``dask.bag``
  ``map_partitions``;
* :func:`spark_pandas_udf` for a PySpark ``pandas_udf`` (string -> string).

None of these engines is imported by this module; the adapters are plain,
picklable objects, so they travel to worker processes as they are. Values that
are not strings (``None``, ``NaN``) are passed through untouched.

>>> fix_batch(["浣犲ソ锛屼笘鐣岋紒", "你好，世界！", "plain ASCII"])
['你好，世界！', '你好，世界！', 'plain ASCII']
>>> fix = hf_map_fn()
>>> fix({"text": ["浣犲ソ锛屼笘鐣岋紒", None], "id": [1, 2]})
{'text': ['你好，世界！', None]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from textfix.config import Config, resolve

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

__all__ = [
    "DaskPartitionFn",
    "HFMapFn",
    "dask_partition_fn",
    "fix_batch",
    "fix_values",
    "hf_map_fn",
    "spark_pandas_udf",
]


def fix_batch(texts: Iterable[str], config: Config | None = None, **overrides: Any) -> list[str]:
    """Fix every text in ``texts`` with one resolved configuration.

    The result equals ``[textfix.fix_text(t, config, **overrides) for t in texts]``;
    clean texts come back as the same objects.

    >>> fix_batch(["ok", "浣犲ソ锛屼笘鐣岋紒"])
    ['ok', '你好，世界！']
    >>> fix_batch([], remove_markers=True)
    []
    """
    from textfix.pipeline import run

    cfg = resolve(config, overrides)
    return [run(text, cfg).text for text in texts]


def fix_values(values: Iterable[Any], config: Config) -> list[Any]:
    """Fix the strings among ``values``; anything else (``None``, ``NaN``) is kept as is.

    >>> from textfix import Config
    >>> fix_values(["浣犲ソ锛屼笘鐣岋紒", None, 3], Config())
    ['你好，世界！', None, 3]
    """
    from textfix.pipeline import run

    return [run(v, config).text if isinstance(v, str) else v for v in values]


# --------------------------------------------------------------------------- Hugging Face


class HFMapFn:
    """``batch -> {column: fixed values}`` for ``datasets.Dataset.map(fn, batched=True)``.

    Only ``column`` is returned, so ``map`` keeps every other column as it was.
    Instances are picklable (``num_proc > 1`` works) and hash deterministically,
    so ``datasets`` can cache the result.
    """

    def __init__(self, column: str, config: Config) -> None:
        self.column = column
        self.config = config

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        if self.column not in batch:
            raise KeyError(f"textfix: column {self.column!r} not in batch "
                           f"(columns: {', '.join(map(str, batch))})")
        return {self.column: fix_values(batch[self.column], self.config)}

    def __repr__(self) -> str:
        return f"HFMapFn(column={self.column!r}, config={self.config!r})"


def hf_map_fn(column: str = "text", config: Config | None = None, **overrides: Any) -> HFMapFn:
    """A function for ``Dataset.map(fn, batched=True)`` that fixes ``column``.

    ``ds.map(hf_map_fn("text"), batched=True)`` returns a dataset whose ``text``
    column is fixed and whose other columns are untouched.

    >>> fn = hf_map_fn("body", remove_markers=True)
    >>> fn({"body": ["浣犲ソ锛屼笘鐣岋紒"]})
    {'body': ['你好，世界！']}
    """
    return HFMapFn(column, resolve(config, overrides))


# --------------------------------------------------------------------------- Dask


class DaskPartitionFn:
    """Fixes one partition: a pandas DataFrame (``column`` only), a Series, or an
    iterable of strings (a ``dask.bag`` partition, returned as a list)."""

    def __init__(self, column: str, config: Config) -> None:
        self.column = column
        self.config = config

    def __call__(self, partition: Any) -> Any:
        pd = _pandas_if_loaded()
        if pd is not None and isinstance(partition, pd.DataFrame):
            return self._frame(partition)
        if pd is not None and isinstance(partition, pd.Series):
            return _fix_series(partition, self.config)
        return fix_values(partition, self.config)

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.column not in frame.columns:
            raise KeyError(f"textfix: column {self.column!r} not in DataFrame "
                           f"(columns: {', '.join(map(str, frame.columns))})")
        out = frame.copy(deep=False)
        out[self.column] = _fix_series(frame[self.column], self.config)
        return out

    def __repr__(self) -> str:
        return f"DaskPartitionFn(column={self.column!r}, config={self.config!r})"


def dask_partition_fn(
    column: str = "text", config: Config | None = None, **overrides: Any
) -> DaskPartitionFn:
    """A function for ``map_partitions`` that fixes text in each partition.

    * ``ddf.map_partitions(dask_partition_fn("text"))``: a pandas DataFrame in, the
      same DataFrame out with ``column`` fixed (index, dtypes and the other columns
      unchanged; pass ``meta=ddf._meta`` to skip Dask's meta inference);
    * ``bag.map_partitions(dask_partition_fn())``: strings in, a list of strings out.

    >>> dask_partition_fn()(["浣犲ソ锛屼笘鐣岋紒", "clean"])
    ['你好，世界！', 'clean']
    """
    return DaskPartitionFn(column, resolve(config, overrides))


# --------------------------------------------------------------------------- Spark


def spark_pandas_udf(config: Config | None = None, **overrides: Any) -> Any:
    """A PySpark ``pandas_udf`` (string column -> string column) that fixes text.

    ``df.withColumn("text", spark_pandas_udf()("text"))``. PySpark (with pyarrow)
    is imported only when this is called.
    """
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    cfg = resolve(config, overrides)

    def textfix_fix(texts: pd.Series) -> pd.Series:
        return _fix_series(texts, cfg, keep_dtype=False)

    # Real classes, not strings: PySpark reads these to pick the Series -> Series kind.
    textfix_fix.__annotations__ = {"texts": pd.Series, "return": pd.Series}
    return pandas_udf(textfix_fix, returnType="string")  # type: ignore[call-overload]


# --------------------------------------------------------------------------- helpers


def _pandas_if_loaded() -> Any:
    """pandas, if something already imported it (a DataFrame cannot exist otherwise)."""
    import sys

    return sys.modules.get("pandas")


def _fix_series(series: pd.Series, config: Config, keep_dtype: bool = True) -> pd.Series:
    import pandas as pd

    values = fix_values(series.tolist(), config)
    if keep_dtype:
        return pd.Series(values, index=series.index, dtype=series.dtype, name=series.name)
    return pd.Series(values, index=series.index, name=series.name)
