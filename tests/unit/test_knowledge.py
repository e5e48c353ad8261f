"""The knowledge loader refuses any number without provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from osteotarget.knowledge import EVIDENCE_TAGS, KnowledgeError, knowledge, load_knowledge

CITES = """
[k1]
authors = "A B"
title = "T"
year = 2020
doi = "10.1/x"
"""


def _kb(tmp_path: Path, body: str, citations: str = CITES) -> None:
    (tmp_path / "citations.toml").write_text(citations)
    (tmp_path / "data.toml").write_text(body)
    load_knowledge(tmp_path)


def test_packaged_knowledge_loads_and_every_number_is_cited() -> None:
    kb = knowledge()
    assert kb.quantities, "no cited numbers found"
    for q in kb.quantities.values():
        assert q.evidence in EVIDENCE_TAGS
        assert q.cite in kb.citations, q.path


def test_quantity_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "citations.toml").write_text(CITES)
    (tmp_path / "data.toml").write_text(
        'x = { value = 1.5, unit = "g", cite = "k1", evidence = "verified" }\n'
    )
    kb = load_knowledge(tmp_path)
    assert kb.number("data.x") == 1.5
    assert kb.quantity("data.x").unit == "g"


def test_table_level_citation_covers_bare_numbers(tmp_path: Path) -> None:
    (tmp_path / "citations.toml").write_text(CITES)
    (tmp_path / "data.toml").write_text('cite = "k1"\nevidence = "secondary"\n[t]\na = 2\n')
    kb = load_knowledge(tmp_path)
    assert kb.quantity("data.t.a").evidence == "secondary"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x = 1.0\n", "has no citation"),
        ('x = { value = 1.0, cite = "nope", evidence = "verified" }\n', "nope"),
        ('x = { value = 1.0, cite = "k1", evidence = "memory" }\n', "evidence tag"),
        ('cite = "k1"\nx = 1\n', "only one of cite/evidence"),
        ('rule = { citations = ["ghost"] }\n', "ghost"),
        ("x = [\n", "not valid TOML"),
        ('cite = ["k1"]\nevidence = "verified"\nx = 1\n', "one citation key"),
        ('[t]\ncite = "k1"\nevidence = "bogus"\n', "evidence tag 'bogus'"),
        ("rule = { citations = [true] }\n", "non-key"),
    ],
)
def test_loader_refuses_unprovenanced_numbers(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        _kb(tmp_path, body)


def test_citation_needs_a_locator(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="doi, pmid or url"):
        _kb(tmp_path, "", '[k1]\nauthors = "A"\ntitle = "T"\nyear = 2020\n')


def test_citation_year_must_be_a_number(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="year must be a whole number"):
        _kb(tmp_path, "", '[k1]\nauthors = "A"\ntitle = "T"\nyear = "2020"\ndoi = "x"\n')


def test_version_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "citations.toml").write_text(CITES)
    (tmp_path / "data.toml").write_text('x = { value = 1.0, cite = "k1", evidence = "verified" }')
    first = load_knowledge(tmp_path).version
    (tmp_path / "data.toml").write_text('x = { value = 2.0, cite = "k1", evidence = "verified" }')
    assert load_knowledge(tmp_path).version != first
