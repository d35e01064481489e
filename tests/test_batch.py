"""fix_batch and the dataset-engine adapters (Hugging Face, Dask, Spark)."""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import sys

import pytest

import textfix
from textfix.batch import dask_partition_fn, fix_batch, fix_values, hf_map_fn, spark_pandas_udf

CLEAN_ZH = "你好，世界！今天天气很好。"
GARBLED = CLEAN_ZH.encode("utf-8").decode("gbk", errors="replace")
GARBLED_SHORT = "你好，世界！".encode().decode("gbk", errors="replace")
TEXTS = [
    CLEAN_ZH,
    GARBLED,
    "plain ASCII text",
    "",
    "這是一個測試檔案，用來檢查編碼識別是否正確。",
    "これはテストです。",
    "한국어 문장입니다.",
    GARBLED_SHORT,
    "café",
    "cafÃ©",
]


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def test_garbled_sample_is_damaged() -> None:
    assert GARBLED != CLEAN_ZH
    assert textfix.fix_text(GARBLED) != GARBLED


def test_fix_batch_equals_fix_text() -> None:
    assert fix_batch(TEXTS) == [textfix.fix_text(t) for t in TEXTS]


def test_fix_batch_with_config_and_overrides() -> None:
    cfg = textfix.Config(cjk_punctuation=True)
    texts = ["中文,中文", GARBLED]
    assert fix_batch(texts, cfg) == [textfix.fix_text(t, cfg) for t in texts]
    assert fix_batch(texts, cfg, remove_markers=True) == [
        textfix.fix_text(t, cfg, remove_markers=True) for t in texts
    ]


def test_fix_batch_accepts_any_iterable_and_keeps_clean_objects() -> None:
    out = fix_batch(t for t in TEXTS)
    assert len(out) == len(TEXTS)
    assert out[2] is TEXTS[2]
    assert fix_batch([]) == []


def test_fix_batch_rejects_unknown_option() -> None:
    with pytest.raises(TypeError, match="unknown textfix option"):
        fix_batch(["x"], no_such_option=True)


def test_fix_values_passes_non_strings_through() -> None:
    nan = float("nan")
    out = fix_values([GARBLED, None, nan, 7], textfix.Config())
    assert out[0] == textfix.fix_text(GARBLED)
    assert out[1] is None and out[2] is nan and out[3] == 7


def test_hf_map_fn_plain_dict() -> None:
    fn = hf_map_fn("body")
    out = fn({"body": TEXTS, "id": list(range(len(TEXTS)))})
    assert out == {"body": [textfix.fix_text(t) for t in TEXTS]}
    with pytest.raises(KeyError, match="'body'"):
        fn({"text": ["x"]})


def test_adapters_pickle() -> None:
    for fn in (hf_map_fn("t", remove_markers=True), dask_partition_fn("t")):
        clone = pickle.loads(pickle.dumps(fn))
        assert clone.column == "t" and clone.config == fn.config


@pytest.mark.skipif(not _have("datasets"), reason="datasets is not installed")
def test_hf_dataset_map() -> None:
    import datasets

    ds = datasets.Dataset.from_dict({"id": list(range(len(TEXTS))), "text": TEXTS})
    fixed = ds.map(hf_map_fn(), batched=True, batch_size=3, load_from_cache_file=False)
    assert fixed["text"] == [textfix.fix_text(t) for t in TEXTS]
    assert fixed["id"] == list(range(len(TEXTS)))
    assert fixed.column_names == ds.column_names


@pytest.mark.skipif(not _have("pandas"), reason="pandas is not installed")
def test_dask_partition_fn_on_pandas_directly() -> None:
    import pandas as pd

    frame = pd.DataFrame({"id": range(len(TEXTS)), "text": TEXTS, "other": TEXTS},
                         index=range(10, 10 + len(TEXTS)))
    out = dask_partition_fn()(frame)
    assert out["text"].tolist() == [textfix.fix_text(t) for t in TEXTS]
    assert out["other"].tolist() == TEXTS  # other columns untouched
    assert list(out.index) == list(frame.index)
    assert out.dtypes.equals(frame.dtypes)
    assert frame["text"].tolist() == TEXTS  # input not modified
    with_none = pd.DataFrame({"text": [GARBLED, None]})
    fixed = dask_partition_fn()(with_none)["text"]
    assert fixed.iloc[0] == textfix.fix_text(GARBLED)
    assert pd.isna(fixed.iloc[1])  # missing stays missing (None or NaN, as pandas stores it)
    empty = dask_partition_fn()(frame.iloc[:0])
    assert empty.empty and list(empty.columns) == list(frame.columns)
    with pytest.raises(KeyError, match="'body'"):
        dask_partition_fn("body")(frame)


def test_dask_partition_fn_on_iterables() -> None:
    fn = dask_partition_fn()
    assert fn(TEXTS) == [textfix.fix_text(t) for t in TEXTS]
    assert fn(iter(TEXTS)) == [textfix.fix_text(t) for t in TEXTS]


@pytest.mark.skipif(not (_have("dask") and _have("distributed") and _have("pandas")),
                    reason="dask[distributed] and pandas are not installed")
def test_dask_local_cluster() -> None:
    """Two worker processes, one thread each: the adapter must travel by pickle."""
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd
    from dask.distributed import Client, LocalCluster

    n = 40
    texts = [TEXTS[i % len(TEXTS)] for i in range(n)]
    frame = pd.DataFrame({"id": range(n), "text": texts, "n": [len(t) for t in texts]})
    expected = [textfix.fix_text(t) for t in texts]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=True) as cluster, \
            Client(cluster) as client:
        ddf = dd.from_pandas(frame, npartitions=4)
        fixed = ddf.map_partitions(dask_partition_fn("text"), meta=ddf._meta)
        result = client.compute(fixed).result().sort_values("id")
        assert result["text"].tolist() == expected
        assert result["id"].tolist() == list(range(n))
        assert result["n"].tolist() == frame["n"].tolist()

        # Meta inferred by Dask (runs the function on an empty frame).
        inferred = ddf.map_partitions(dask_partition_fn("text"))
        assert client.compute(inferred).result().sort_values("id")["text"].tolist() == expected

        bag = db.from_sequence(texts, npartitions=4)
        assert client.compute(bag.map_partitions(dask_partition_fn())).result() == expected

        # The work really happened in both worker processes.
        workers = client.run(os.getpid)
        assert len(set(workers.values())) == 2


def _spark_skip_reason() -> str | None:
    if not _have("pyspark"):
        return "pyspark is not installed"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime on PATH (needed by pyspark)"
    if not (_have("pandas") and _have("pyarrow")):
        return "pandas_udf needs pandas and pyarrow"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_spark_skip_reason() is not None, reason=_spark_skip_reason() or "")
def test_spark_pandas_udf_local() -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("textfix-test")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    try:
        rows = [(i, t) for i, t in enumerate(TEXTS)] + [(len(TEXTS), None)]
        df = spark.createDataFrame(rows, "id int, text string").repartition(2)
        fixed = df.withColumn("text", spark_pandas_udf()("text")).orderBy("id").collect()
        assert [r["text"] for r in fixed] == [textfix.fix_text(t) for t in TEXTS] + [None]
        assert [r["id"] for r in fixed] == list(range(len(TEXTS) + 1))
    finally:
        spark.stop()
