"""The golden set: questions and deals with the answers we expect, read from evals/golden/*.yaml.

evals/golden/README.md describes the file format for the people who add questions. Loading
checks every item and names the file and item of the first problem found.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.assessments.decision import Outcome
from assistant.settings import PROJECT_ROOT
from evals.metrics import Label

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
ANSWERABLE = ("factual", "dilemma")  # answered from the starter library
DECLINE = ("out_of_scope",)  # must be declined
CATEGORIES = ANSWERABLE + DECLINE + ("deal", "pdf")
DIRECTIONS = ("yes", "no", "depends")  # the verdict a yes/no question's bottom line gives
SPLITS = ("tune", "held-back")
DECISIONS = (*(o.value for o in Outcome), "incomplete")
ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
ITEM_KEYS = {
    "factual": {"id", "question", "relevant", "key_points", "note", "area", "direction"},
    "dilemma": {"id", "question", "relevant", "key_points", "note", "area", "direction"},
    "pdf": {"id", "question", "relevant", "key_points", "note"},
    "out_of_scope": {"id", "question", "note", "area"},
    "deal": {"id", "question", "expected_decision", "script", "note"},
}
FILE_KEYS = {"category", "items", "fixture", "description"}


class GoldenSetError(ValueError):
    """A golden-set file that cannot be used; the message names the file and the item."""


@dataclass(frozen=True)
class GoldenItem:
    """One question (or deal) with the labels its metrics need."""

    id: str
    category: str
    question: str
    labels: tuple[Label, ...] = ()
    key_points: tuple[tuple[str, ...], ...] = ()
    expected_decision: str | None = None
    script: dict[str, Any] = field(default_factory=dict)
    fixture: Path | None = None  # the document a "pdf" question is asked of
    source: Path | None = None
    note: str = ""
    area: str = ""  # the library area an item tests (a document id), for per-area figures
    direction: str | None = None  # the bottom line's expected verdict, for yes/no questions

    @property
    def split(self) -> str:
        """`tune` or `held-back`, fixed by the id's hash: changes are tuned on one half and
        judged on the other, and no one picks which item falls where."""
        return SPLITS[hashlib.sha256(self.id.encode()).digest()[0] % 2]

    @property
    def expect_decline(self) -> bool:
        return self.category in DECLINE

    @property
    def relevant_doc_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(label.doc_id for label in self.labels))


@dataclass(frozen=True)
class GoldenSet:
    items: tuple[GoldenItem, ...]

    def by_category(self, *categories: str) -> list[GoldenItem]:
        return [i for i in self.items if i.category in categories]

    def counts(self) -> dict[str, int]:
        counted = Counter(i.category for i in self.items)
        return {c: counted[c] for c in CATEGORIES if counted[c]}

    def select(self, categories: tuple[str, ...] = (), limit: int | None = None) -> GoldenSet:
        """Items of the given categories (all if none), at most `limit` from each category."""
        taken: Counter = Counter()
        kept = []
        for item in self.items:
            if categories and item.category not in categories:
                continue
            if limit is not None and taken[item.category] >= limit:
                continue
            taken[item.category] += 1
            kept.append(item)
        return GoldenSet(tuple(kept))


def load_golden_set(folder: str | Path = GOLDEN_DIR) -> GoldenSet:
    """Every item of every *.yaml file in the folder, checked; ids are unique across files."""
    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise GoldenSetError(f"{folder}: no golden-set files (*.yaml)")
    items: list[GoldenItem] = []
    seen: dict[str, Path] = {}
    for path in files:
        for item in _load_file(path):
            if item.id in seen:
                raise GoldenSetError(f"{path.name}: item id {item.id!r} is already used in "
                                     f"{seen[item.id].name}")
            seen[item.id] = path
            items.append(item)
    return GoldenSet(tuple(items))


def corpus_sections(corpus_dir: str | Path) -> dict[str, set[str]]:
    """The document ids the library gives the files of a corpus folder, each with the numbers
    of its sections ('1', '3.2', ...)."""
    from evals.metrics import section_number
    from ingest.documents import parse_file
    from ingest.pipeline import discover

    files, _, _ = discover([Path(corpus_dir)])
    out: dict[str, set[str]] = {}
    for f in files:
        if f.suffix.lower() == ".pdf":
            continue
        doc = parse_file(f.resolve(), f.read_bytes())
        numbers = {n for u in doc.units if (n := section_number(u.section))}
        # a heading with only sub-sections under it ("3." above "3.1") has no text of its own
        out[doc.doc_id] = {".".join(n.split(".")[:i]) for n in numbers
                           for i in range(1, n.count(".") + 2)}
    return out


def label_problems(golden: GoldenSet, corpus_dir: str | Path) -> list[str]:
    """Labels naming a document the corpus (or the item's fixture) does not hold, or a section
    number the document does not have."""
    from ingest.documents import slugify

    sections = corpus_sections(corpus_dir)
    problems = []
    for item in golden.items:
        for label in item.labels:
            if item.fixture:
                if label.doc_id != slugify(item.fixture.stem):
                    problems.append(f"{item.id}: {label.doc_id} is not the fixture's id "
                                    f"{slugify(item.fixture.stem)!r}")
            elif label.doc_id not in sections:
                problems.append(f"{item.id}: no document {label.doc_id!r} in {corpus_dir}")
            else:
                problems += [f"{item.id}: {label.doc_id} has no section {s}"
                             for s in label.sections if s not in sections[label.doc_id]]
    return problems


def _load_file(path: Path) -> list[GoldenItem]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GoldenSetError(f"{path.name}: cannot read the file ({exc})") from None
    if not isinstance(data, dict):
        raise GoldenSetError(f"{path.name}: expected 'category:' and 'items:' at the top")
    unknown = sorted(set(data) - FILE_KEYS)
    if unknown:
        raise GoldenSetError(f"{path.name}: unknown top-level key {unknown[0]!r} "
                             f"(allowed: {', '.join(sorted(FILE_KEYS))})")
    category = data.get("category")
    if category not in CATEGORIES:
        raise GoldenSetError(f"{path.name}: category must be one of {', '.join(CATEGORIES)}, "
                             f"not {category!r}")
    fixture = None
    if category == "pdf":
        if not data.get("fixture"):
            raise GoldenSetError(f"{path.name}: a pdf file needs 'fixture:' (the PDF's path "
                                 "relative to the project root)")
        fixture = (PROJECT_ROOT / str(data["fixture"])).resolve()
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise GoldenSetError(f"{path.name}: 'items:' must be a non-empty list")
    return [_item(path, category, raw, n, fixture) for n, raw in enumerate(raw_items, 1)]


def _item(path: Path, category: str, raw: Any, n: int, fixture: Path | None) -> GoldenItem:
    where = f"{path.name}: item {n}"
    if not isinstance(raw, dict):
        raise GoldenSetError(f"{where}: each item must be a mapping of keys to values")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not ID.match(item_id):
        raise GoldenSetError(f"{where}: 'id' must be lower-case letters, digits and hyphens "
                             f"(got {item_id!r})")
    where = f"{path.name}: item {item_id!r}"
    unknown = sorted(set(raw) - ITEM_KEYS[category])
    if unknown:
        raise GoldenSetError(f"{where}: key {unknown[0]!r} is not used in a {category} item "
                             f"(allowed: {', '.join(sorted(ITEM_KEYS[category]))})")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise GoldenSetError(f"{where}: 'question' must be non-empty text")
    note = str(raw.get("note") or "")
    area = str(raw.get("area") or "")
    direction = raw.get("direction")
    if isinstance(direction, bool):
        raise GoldenSetError(f'{where}: quote the direction (direction: "no"), or YAML reads '
                             "yes and no as true and false")
    if direction is not None and direction not in DIRECTIONS:
        raise GoldenSetError(f"{where}: 'direction' must be one of {', '.join(DIRECTIONS)} "
                             f"(got {direction!r})")
    if category == "deal":
        return GoldenItem(item_id, category, question.strip(),
                          expected_decision=_decision(where, raw.get("expected_decision")),
                          script=_script(where, raw.get("script"), path.parent), source=path,
                          note=note)
    if category in DECLINE:
        return GoldenItem(item_id, category, question.strip(), source=path, note=note, area=area)
    return GoldenItem(item_id, category, question.strip(), _labels(where, raw.get("relevant")),
                      _key_points(where, raw.get("key_points")), fixture=fixture, source=path,
                      note=note, area=area, direction=direction)


def _labels(where: str, raw: Any) -> tuple[Label, ...]:
    if not isinstance(raw, list) or not raw:
        raise GoldenSetError(f"{where}: 'relevant' must list at least one document")
    labels = []
    for entry in raw:
        if isinstance(entry, str):
            entry = {"doc": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("doc"), str):
            raise GoldenSetError(f"{where}: each 'relevant' entry needs 'doc: <document id>'")
        extra = sorted(set(entry) - {"doc", "sections", "pages", "grade"})
        if extra:
            raise GoldenSetError(f"{where}: unknown key {extra[0]!r} in 'relevant' "
                                 "(allowed: doc, sections, pages, grade)")
        sections = []
        for s in entry.get("sections") or []:
            if isinstance(s, float):
                raise GoldenSetError(f"{where}: quote section number {s} ('{s}'), or 3.10 "
                                     "would be read as 3.1")
            if not re.fullmatch(r"\d+(?:\.\d+)*", str(s)):
                raise GoldenSetError(f"{where}: section {s!r} is not a section number like "
                                     "'3' or '4.2'")
            sections.append(str(s))
        pages = entry.get("pages") or []
        if not all(isinstance(p, int) and p >= 1 for p in pages):
            raise GoldenSetError(f"{where}: 'pages' must be page numbers (1 = first page)")
        grade = entry.get("grade", 1)
        if grade not in (1, 2, 3):
            raise GoldenSetError(f"{where}: 'grade' must be 1, 2 or 3")
        labels.append(Label(entry["doc"], tuple(sections), tuple(pages), grade))
    return tuple(labels)


def _key_points(where: str, raw: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(raw, list) or not raw:
        raise GoldenSetError(f"{where}: 'key_points' must list at least one key point")
    points = []
    for point in raw:
        phrasings = [point] if isinstance(point, str | int) else point
        if isinstance(phrasings, list):  # a bare number (an article, a year) is a phrase too
            phrasings = [str(p) if isinstance(p, int) and not isinstance(p, bool) else p
                         for p in phrasings]
        if (not isinstance(phrasings, list) or not phrasings
                or not all(isinstance(p, str) and p.strip() for p in phrasings)):
            raise GoldenSetError(f"{where}: each key point must be a phrase or a list of "
                                 f"acceptable phrases, not {point!r}")
        points.append(tuple(p.strip() for p in phrasings))
    return tuple(points)


def _decision(where: str, raw: Any) -> str:
    if raw not in DECISIONS:
        raise GoldenSetError(f"{where}: 'expected_decision' must be one of "
                             f"{', '.join(DECISIONS)}, not {raw!r}")
    return raw


def _script(where: str, raw: Any, folder: Path) -> dict[str, Any]:
    """The answers file of a deal; `country_indicators` is read relative to the golden file."""
    if not isinstance(raw, dict) or not isinstance(raw.get("answers"), dict):
        raise GoldenSetError(f"{where}: 'script' must be an answers file (playbook, deal, "
                             "assessor, answers, ...) as in examples/deals/")
    script = dict(raw)
    if script.get("country_indicators"):
        indicators = (folder / str(script["country_indicators"])).resolve()
        if not indicators.is_file():
            raise GoldenSetError(f"{where}: country_indicators file {indicators} not found")
        script["country_indicators"] = str(indicators)
    return script
