"""`pipeline package`: the descriptor it writes, and a clear refusal when a table
it is written from cannot be read."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import cli


def test_descriptor_names_every_table_with_hash_and_size(package_copy):
    result = CliRunner().invoke(cli, ["package", "--root", str(package_copy)])
    assert result.exit_code == 0, result.output
    descriptor = json.loads((package_copy / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        data = (package_copy / resource["path"]).read_bytes()
        assert resource["bytes"] == len(data) and resource["hash"].startswith("sha256:")


SOURCES_HEADER = "source_id,publisher,title,url"


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "cannot be read as CSV: the file is empty"),
        (b"a,b\n1,2\n", "missing column"),
        (f"{SOURCES_HEADER}\na,p,t,u\nb,p,t\n".encode(), "row 3: 4 cells expected"),  # a cell short
        (f"{SOURCES_HEADER}\na,p,t,u,extra\n".encode(), "row 2: 4 cells expected"),  # a cell over
        (f"{SOURCES_HEADER}\na,p,\xe6\x97,u\n".encode("latin-1"), "cannot be read as CSV"),  # not UTF-8
        (f'{SOURCES_HEADER}\na,p,"t\n'.encode(), "cannot be read as CSV"),  # a quote never closed
    ],
)
def test_unreadable_sources_table_is_a_message_not_a_traceback(package_copy, data, words):
    before = (package_copy / "datapackage.json").read_bytes()
    (package_copy / "data" / "sources.csv").write_bytes(data)
    result = CliRunner().invoke(cli, ["package", "--root", str(package_copy)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # _fail, not a crash
    assert "sources.csv" in result.output and words in result.output
    assert (package_copy / "datapackage.json").read_bytes() == before
