# Two commands for a newcomer: `make data` (build the dataset) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock | cksum | cut -d' ' -f1)

.PHONY: install data validate test package evaluate bench clean codebook timeline export release faults-doc

$(STAMP): requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the pinned dependencies

data: install ## corpus -> extract -> validate -> datapackage.json, atomically; then the codebook and timeline
	$(PY) -m pipeline build
	$(PY) -m pipeline codebook
	$(PY) -m pipeline timeline --out docs

validate: install ## validate the committed package (frictionless + pandera)
	$(PY) -m pipeline validate

package: install
	$(PY) -m pipeline package

evaluate: install ## extraction quality against tests/gold (corrections off)
	$(PY) -m pipeline evaluate --gold tests/gold

test: install ## the whole test suite (includes validating the committed package)
	$(PY) -m pytest -q

codebook: install ## docs/codebook.md from the Table Schemas and data (CI: --check)
	$(PY) -m pipeline codebook

timeline: install ## docs/timeline.png and a self-contained docs/timeline.html
	$(PY) -m pipeline timeline --out docs

bench: install ## throughput, memory, validation and incremental figures on a 2,000-article scale corpus
	$(PY) -m pipeline bench --articles 2000

export: install ## SQLite and Parquet copies of the package in dist/ (hashes verified first)
	$(PY) -m pipeline export --out dist

release: install ## diff against the last vX.Y.Z tag, refuse a too-small bump, write CHANGELOG + dist/ zip and SHA256SUMS (BUMP=major|minor|patch)
	@test -n "$(BUMP)" || { echo "usage: make release BUMP=major|minor|patch" >&2; exit 1; }
	$(PY) -m pipeline release --bump $(BUMP)

faults-doc: install ## rewrite the fault table in docs/faults.md from tests/test_faults.py
	PYTHONPATH=. $(PY) tests/test_faults.py

clean:
	rm -rf .build .pytest_cache
