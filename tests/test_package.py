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


@pytest.mark.parametrize("text, words", [("", "cannot be read"), ("a,b\n1,2\n", "missing column")])
def test_unreadable_sources_table_is_a_message_not_a_traceback(package_copy, text, words):
    before = (package_copy / "datapackage.json").read_bytes()
    (package_copy / "data" / "sources.csv").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["package", "--root", str(package_copy)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # _fail, not a crash
    assert "sources.csv" in result.output and words in result.output
    assert (package_copy / "datapackage.json").read_bytes() == before
