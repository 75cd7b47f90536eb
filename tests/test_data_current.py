"""The committed tables are exactly what the pipeline builds from the committed corpus,
registry and corrections: nobody edited data/ by hand without the build agreeing."""

from __future__ import annotations

import copy

from pipeline import paths
from pipeline.build import write_tables
from pipeline.corrections import apply_corrections, load_corrections


def test_committed_tables_equal_a_fresh_build(extracted, tmp_path):
    tables = apply_corrections(copy.deepcopy(extracted), load_corrections())
    write_tables(tmp_path, tables, paths.SCHEMAS)
    for name in paths.TABLES:
        fresh = (tmp_path / f"{name}.csv").read_bytes()
        committed = (paths.DATA / f"{name}.csv").read_bytes()
        assert fresh == committed, f"data/{name}.csv is stale: run `make data`"
