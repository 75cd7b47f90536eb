"""The build under SIGKILL and in different environments, as separate processes.

Each build runs `python -m pipeline build` in a private copy of the repository (code,
curation, schemas, the committed package) whose corpus holds one article, so the new
package differs from the committed one and every run is short. `AOE_KILL_AT` makes the
build SIGKILL itself at a named point (`pipeline.build._kill_point`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import paths
from pipeline.build import recover
from pipeline.validate import validate_package

ARTICLE = "techtarget-2025-08-21-gpt-oss.md"
BEFORE_JOURNAL = ("wrote:entities", "staged")  # published files must be untouched
AFTER_JOURNAL = ("publish", "swap", "data-replaced")  # the next run must roll forward
ENV_A = {"PYTHONHASHSEED": "0", "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
ENV_B = {"PYTHONHASHSEED": "4242", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "Pacific/Kiritimati"}


def make_root(folder: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("pipeline", "curation", "schemas", "data"):
        shutil.copytree(paths.ROOT / name, folder / name, ignore=ignore)
    shutil.copy(paths.DATAPACKAGE, folder / "datapackage.json")
    (folder / "corpus").mkdir()
    shutil.copy(paths.CORPUS / ARTICLE, folder / "corpus" / ARTICLE)
    return folder


def run_build(root: Path, env: dict[str, str], kill_at: str | None = None, args: tuple[str, ...] = ("-m", "pipeline", "build")) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AOE_KILL_AT", "LC_ALL", "LANG", "TZ")}
    clean.update(env)
    if kill_at:
        clean["AOE_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, *args], cwd=root, env=clean, capture_output=True, text=True, timeout=300)


def published(root: Path) -> dict[str, bytes]:
    """The published files; `created` is left out of the descriptor (a release may change it)."""
    files = {f"data/{p.name}": p.read_bytes() for p in sorted((root / "data").glob("*"))} if (root / "data").is_dir() else {}
    descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    descriptor.pop("created", None)
    files["datapackage.json"] = json.dumps(descriptor, sort_keys=True).encode()
    return files


def restore(root: Path, data: Path, descriptor: bytes) -> None:
    shutil.rmtree(root / "data", ignore_errors=True)
    shutil.copytree(data, root / "data")
    (root / "datapackage.json").write_bytes(descriptor)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    """What an uninterrupted build publishes (environment A)."""
    root = make_root(tmp_path_factory.mktemp("reference"))
    done = run_build(root, ENV_A)
    assert done.returncode == 0, done.stderr
    return published(root)


def test_killed_builds_leave_the_previous_package_or_roll_forward(tmp_path, reference):
    root = make_root(tmp_path)
    before = published(root)
    assert before != reference  # the build has something to change
    for point in BEFORE_JOURNAL:
        killed = run_build(root, ENV_A, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        assert published(root) == before, point
        assert not (root / ".build" / "COMMIT").exists()
        assert validate_package(root, paths.CORPUS).ok  # still the committed, valid package
    for point in AFTER_JOURNAL:
        killed = run_build(root, ENV_A, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        assert (root / ".build" / "COMMIT").exists(), point
        assert not validate_package(root).ok  # a half-published package is never called valid
        assert recover(root)
        assert published(root) == reference, point
        assert validate_package(root, root / "corpus").ok
        restore(root, paths.DATA, paths.DATAPACKAGE.read_bytes())
    # a last run, in another hash seed, locale and time zone, completes and matches;
    # any extraction cache is dropped so that run really extracts again
    shutil.rmtree(root / ".build" / "cache", ignore_errors=True)
    done = run_build(root, ENV_B)
    assert done.returncode == 0, done.stderr
    assert published(root) == reference
    leftovers = [p.name for p in (root / ".build").iterdir() if p.name.startswith(("stage-", "COMMIT", "old-data"))]
    assert leftovers == []  # no staging folder, journal or old data left behind


def test_a_second_build_in_the_same_checkout_is_refused_and_touches_nothing(tmp_path):
    """While one build holds the checkout, another exits 1 with a message and leaves the
    first one's staging folder and the published files alone."""
    from pipeline.build import exclusive

    root = make_root(tmp_path)
    before = published(root)
    staging = root / ".build" / "stage-12345"
    staging.mkdir(parents=True)
    with exclusive(root):
        second = run_build(root, ENV_A)
    assert second.returncode == 1
    assert f"another build is running in {root} (process {os.getpid()})" in second.stderr
    assert "Traceback" not in second.stderr
    assert staging.is_dir() and published(root) == before


def test_extraction_in_the_build_child_publishes_what_one_process_publishes(tmp_path, reference):
    """The same build with forking off (extraction, merge and staging in the building
    process itself) publishes the same bytes as the default, whose child does them."""
    root = make_root(tmp_path)
    in_one = "import pipeline.forking as f; f.fork_safe = lambda: False; from pipeline.cli import cli; cli(['build'])"
    done = run_build(root, ENV_A, args=("-c", in_one))
    assert done.returncode == 0, done.stderr
    assert published(root) == reference


STAGED_ASIDE = """
import json, os, sys
from pathlib import Path
import pipeline.build as build
from pipeline.validate import validate_package

real = build.extract_corpus
def recording(*args, **kwargs):
    Path("extracted-in").write_text(str(os.getpid()))
    return real(*args, **kwargs)
build.extract_corpus = recording
root = Path.cwd()
(root / ".build").mkdir(exist_ok=True)
staged = build.staged_aside(root, root / "corpus", corrections=True)
ahead = sorted(staged.ahead.tables)
print(json.dumps({
    "here": os.getpid(),
    "extracted_in": int(Path("extracted-in").read_text()),
    "staging": str(staged.staging.relative_to(root)),
    "descriptor": (staged.staging / "datapackage.json").is_file(),
    "texts": {k: len(v) for k, v in staged.texts.items()},
    "sources": staged.rows["sources"],
    "peak": staged.peak_rss_mb,
    "read_ahead": ahead,
    "valid": validate_package(staged.staging, staged.texts).ok,
    "valid_ahead": validate_package(staged.staging, staged.texts, ahead=staged.ahead).ok,
    "left_ahead": sorted(staged.ahead.tables),
}))
"""


def test_the_build_child_extracts_and_this_process_only_validates(tmp_path):
    """`staged_aside` runs extraction in another process (the one that exits before
    validation, taking the merge's memory with it), hands back what validation needs,
    and this process has read each table meanwhile. (In a fresh process: one where
    Dask has run keeps its threads, and a process with threads does not fork.)"""
    root = make_root(tmp_path)
    done = run_build(root, ENV_A, args=("-c", STAGED_ASIDE))
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["extracted_in"] != got["here"]
    assert got["staging"].startswith(".build/stage-") and got["descriptor"]
    assert len(got["texts"]) == 1 and all(n > 1000 for n in got["texts"].values())
    assert got["sources"] == 1 and got["peak"] > 0
    assert got["read_ahead"] == sorted(paths.TABLES)  # each read here while the child wrote the next
    assert got["valid"] and got["valid_ahead"]
    assert got["left_ahead"] == []  # all taken: the files held what was read


def test_the_build_child_says_when_every_result_is_in(monkeypatch):
    """The runner still starts its work when called; EXTRACTED comes after its last
    result, once (the build process then does validation's setup on the free core)."""
    import pipeline.build as build

    said: list[tuple] = []
    started: list[str] = []

    class Pipe:
        def send(self, message):
            said.append(message)

    def runner(articles, registry, flags):
        started.append("now")
        return iter(["result 1", "result 2"])

    monkeypatch.setattr(build, "_telling", Pipe())
    results = build._telling_when_done(runner)(["a", "b"], None, None)
    assert started == ["now"] and said == []
    assert next(results) == "result 1" and next(results) == "result 2" and said == []
    assert next(results, None) is None and said == [(build.EXTRACTED, None)]


def test_the_build_child_tells_the_texts_a_few_at_a_time(monkeypatch, tmp_path):
    """Every body reaches the build process once, as the corpus is read, in messages
    of at most TEXTS_AT_ONCE articles, and the child keeps none; with no one listening
    nothing is said and the articles keep their bodies (the result carries them)."""
    import pipeline.build as build
    from pipeline.corpus import load_corpus

    said: list[tuple] = []

    class Pipe:
        def send(self, message):
            said.append(message)

    front = "---\nid: {}\ntitle: T\npublisher: P\npublished: 2025-08-21\nlanguage: ja\n---\n"
    for i in range(2 * build.TEXTS_AT_ONCE + 3):
        (tmp_path / f"a-{i:04d}.md").write_text(front.format(f"a-{i:04d}") + f"本文 {i}\n", encoding="utf-8")
    assert build.texts_teller() is None
    kept = load_corpus(tmp_path)
    monkeypatch.setattr(build, "_telling", Pipe())
    teller = build.texts_teller()
    lean = load_corpus(tmp_path, bodies_to=teller)
    teller.flush()
    assert [what for what, _ in said] == [build.TEXTS] * 3 and max(len(texts) for _, texts in said) == build.TEXTS_AT_ONCE
    told = [(k, v.decode("utf-8")) for _, texts in said for k, v in texts]
    assert told == [(a.source_id, a.body) for a in kept]
    assert not any(type(a.text) is str for a in lean)


def test_a_corpus_error_in_the_build_child_reaches_the_caller_whole(tmp_path):
    """A broken article found by the child is the same `CorpusError` here: its problems,
    its message, and nothing published."""
    from pipeline.build import build
    from pipeline.corpus import CorpusError

    root = make_root(tmp_path)
    before = published(root)
    (root / "corpus" / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        build(root)
    assert [p.file for p in caught.value.problems] == ["broken.md"]
    assert str(caught.value).startswith("1 problem(s) in the corpus:\n  broken.md: front matter: invalid YAML")
    assert published(root) == before


@pytest.mark.parametrize(
    "kind",
    ["pipeline.corpus:CorpusError", "pipeline.corrections:CorrectionError", "pipeline.registry:RegistryError"],
)
def test_errors_listing_problems_survive_pickling(kind):
    """What a build's child raises comes back pickled: type, problems and message intact."""
    import importlib
    import pickle

    module, name = kind.split(":")
    error_type = getattr(importlib.import_module(module), name)
    problems = [importlib.import_module("pipeline.corpus").Problem("a.md", "id", "missing")] if name == "CorpusError" else ["entry 1: bad", "entry 2: worse"]
    error = error_type(problems)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is error_type and back.problems == problems and str(back) == str(error)
