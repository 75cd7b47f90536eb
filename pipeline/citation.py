"""`CITATION.cff`: how to cite the dataset, rendered from `datapackage.json`.

Title, licence, repository and keywords come from the descriptor; only the version is
passed in, because a release sets it in the descriptor and here in the same step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from pipeline.atomic import write_text
from pipeline.codebook import read_json

CITATION = Path("CITATION.cff")
AUTHOR = "ai-openness-events contributors"


def citation_text(descriptor: Mapping[str, Any], version: str) -> str:
    """The CITATION.cff (Citation File Format 1.2.0) of the package at `version`."""
    licences = [licence["name"] for licence in descriptor.get("licenses", []) if licence.get("name")]
    fields: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it as below.",
        "type": "dataset",
        "title": descriptor.get("title") or descriptor["name"],
        "version": version,
        "license": licences[0] if len(licences) == 1 else licences,
        "authors": [{"name": AUTHOR}],
        "abstract": descriptor.get("description", ""),
        "keywords": list(descriptor.get("keywords", [])),
    }
    if descriptor.get("homepage"):
        fields["repository-code"] = descriptor["homepage"]
        fields["url"] = descriptor["homepage"]
    return yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=88)


def set_citation_version(root: Path, version: str) -> Path:
    """Rewrite `<root>/CITATION.cff` for `version` from `<root>/datapackage.json` (atomic)."""
    path = Path(root) / CITATION
    write_text(path, citation_text(read_json(Path(root) / "datapackage.json"), version))
    return path
