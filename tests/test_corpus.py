"""The starter library: every document is complete, well-formed, in our own words, and covers
the frameworks the assistant relies on, each stated in full in one place."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ingest.documents import split_front_matter
from ingest.vocabulary import KINDS, TOPICS

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FILES = sorted(p for p in CORPUS.rglob("*.md") if p.name.lower() != "readme.md")
SUMMARY_NOTICE = "> Summary prepared for the HRDD Assistant library, not the original text."
CASE_NOTICES = (
    "> Illustrative composite case prepared for the HRDD Assistant library; "
    "it does not describe any real company.",
    "> Case prepared for the HRDD Assistant library from public reporting",
)
CASE_SECTIONS = ["In short", "Situation", "Human rights at stake", "What the guidance says",
                 "Options considered", "What was done and why", "Lessons", "What to do",
                 "Watch for and escalate when"]
H2 = re.compile(r"^## (\d+)\. (\S.*)$")
H3 = re.compile(r"^### (\d+)\.(\d+) (\S.*)$")


def read(path: Path) -> tuple[dict, str]:
    return split_front_matter(path.read_text(encoding="utf-8"))


def doc(doc_id: str) -> tuple[dict, str]:
    matches = [p for p in FILES if p.stem == doc_id]
    assert matches, f"corpus has no document {doc_id}"
    return read(matches[0])


def h2_sections(body: str) -> dict[str, str]:
    """Each `## N. Heading` with its heading and all its text, subsections included."""
    parts = re.split(r"^(## .*)$", body, flags=re.M)
    return {parts[i][3:].strip(): parts[i] + parts[i + 1] for i in range(1, len(parts), 2)}


def h3_headings(section: str) -> list[str]:
    return [m.group(3) for m in (H3.match(ln) for ln in section.splitlines()) if m]


def test_the_corpus_is_there():
    kinds = [read(p)[0].get("kind") for p in FILES]
    assert len(FILES) >= 20
    assert kinds.count("case-study") >= 8


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_front_matter_is_complete_and_valid(path):
    meta, _ = read(path)
    assert meta.get("id") == path.stem
    for key in ("title", "publisher", "original_title", "summary"):
        assert isinstance(meta.get(key), str) and meta[key].strip(), f"{key} missing"
    assert meta["kind"] in KINDS
    assert isinstance(meta["year"], int) and not isinstance(meta["year"], bool)
    assert 1948 <= meta["year"] <= 2030
    url = urlparse(meta["url"])
    assert url.scheme in ("http", "https") and url.netloc, meta["url"]
    topics = meta["topics"]
    assert isinstance(topics, list) and topics
    assert set(topics) <= TOPICS, f"not in the vocabulary: {sorted(set(topics) - TOPICS)}"
    assert len(topics) == len(set(topics))
    summary = meta["summary"]
    assert "\n\n" not in summary.strip(), "the summary is one paragraph"
    assert 25 <= len(summary.split()) <= 160
    assert summary.strip().endswith(".")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_opens_with_the_notice_then_the_title(path):
    meta, body = read(path)
    lines = [ln for ln in body.splitlines() if ln.strip()]
    notice = lines[0]
    if meta["kind"] == "case-study":
        assert notice.startswith(CASE_NOTICES), notice[:120]
    else:
        assert notice.startswith(SUMMARY_NOTICE), notice[:120]
    # the notice names the original and links it
    assert f"*{meta['original_title']}*" in notice
    assert meta["url"] in notice
    assert lines[1] == f"# {meta['title']}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sections_are_numbered_in_order(path):
    _, body = read(path)
    expected_h2, expected_h3 = 1, 1
    for line in body.splitlines():
        if line.startswith("## "):
            m = H2.match(line)
            assert m and int(m.group(1)) == expected_h2, f"heading out of order: {line!r}"
            expected_h2, expected_h3 = expected_h2 + 1, 1
        elif line.startswith("### "):
            m = H3.match(line)
            assert m, f"unnumbered heading: {line!r}"
            assert (int(m.group(1)), int(m.group(2))) == (expected_h2 - 1, expected_h3), line
            expected_h3 += 1
        else:
            assert not re.match(r"#{4,} ", line), f"headings go two levels deep at most: {line!r}"
    assert expected_h2 > 4, "at least four numbered sections"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_is_long_enough_to_be_useful(path):
    _, body = read(path)
    assert len(re.findall(r"\w+", body)) >= 600


@pytest.mark.parametrize("path", [p for p in FILES if read(p)[0]["kind"] != "case-study"],
                         ids=lambda p: p.stem)
def test_guidance_ends_with_questions_to_work_through(path):
    """The assistant uses these sections as checklists: numbered, each a full question."""
    _, body = read(path)
    sections = h2_sections(body)
    last = list(sections)[-1]
    assert re.fullmatch(r"\d+\. Questions to work through", last)
    items = [ln for ln in sections[last].splitlines()[1:] if ln.strip()]
    assert len(items) >= 4
    for n, item in enumerate(items, 1):
        assert re.match(rf"{n}\. \S", item) and item.endswith("?"), item


@pytest.mark.parametrize("path", [p for p in FILES if read(p)[0]["kind"] == "case-study"],
                         ids=lambda p: p.stem)
def test_case_studies_have_the_nine_sections(path):
    _, body = read(path)
    names = [re.sub(r"^\d+\. ", "", h) for h in h2_sections(body)]
    assert names == CASE_SECTIONS


def stated_in_one_section(doc_id: str, terms: list[str]) -> str:
    """The heading of the `##` section of `doc_id` that contains every term (case-insensitive)."""
    _, body = doc(doc_id)
    for heading, text in h2_sections(body).items():
        if all(t.lower() in text.lower() for t in terms):
            return heading
    missing = {h: [t for t in terms if t.lower() not in s.lower()]
               for h, s in h2_sections(body).items()}
    best = min(missing.items(), key=lambda kv: len(kv[1]))
    pytest.fail(f"{doc_id}: no section states all of {terms}; closest is {best[0]!r}, "
                f"missing {best[1]}")


def test_ec_ict_guide_states_the_six_due_diligence_steps():
    heading = stated_in_one_section("ec-ict-sector-guide", [
        "Step I:", "policy commitment", "Step II:", "assessing human-rights impacts", "Step III:",
        "integrating and acting", "Step IV:", "tracking", "Step V:", "communicating",
        "Step VI:", "remediation", "grievance"])
    _, body = doc("ec-ict-sector-guide")
    assert len(h3_headings(h2_sections(body)[heading])) == 6


def test_techuk_guide_states_the_five_steps():
    heading = stated_in_one_section("techuk-cyber-exports", [
        "Step 1", "misuse", "Step 2", "destination country", "Step 3", "end purchaser",
        "intended use", "Step 4", "resellers", "Step 5", "clauses in the contract"])
    _, body = doc("techuk-cyber-exports")
    assert len(h3_headings(h2_sections(body)[heading])) == 5


def test_four_ps_and_the_decision_rule():
    heading = stated_in_one_section("four-ps-framework",
                                    ["Purpose", "Place", "Product", "Purchaser", "Freedom Online"])
    _, body = doc("four-ps-framework")
    assert h3_headings(h2_sections(body)[heading]) == ["Purpose", "Place", "Product", "Purchaser"]
    rule = stated_in_one_section("four-ps-framework", [
        "all four Ps", "cannot be mitigated", "no-go", "senior management", "proceed with conditions",
        "escalate"])
    text = h2_sections(body)[rule]
    assert re.search(r"all four Ps are (problematic|rated high)[^.]*(cannot|none of the risks can)"
                     r" be mitigated[^.]*no-go", text)


def test_icann_two_streams_of_inquiry():
    heading = stated_in_one_section("icann-human-rights", ["two streams", "normative", "empirical"])
    _, body = doc("icann-human-rights")
    assert len(h3_headings(h2_sections(body)[heading])) == 2


def test_lawful_interception_seven_components():
    components = ["Prerequisites", "Authorisation", "Oversight", "Notification", "Remedy",
                  "Transparency", "framework review"]
    heading = stated_in_one_section("lawful-interception-model", ["seven components", *components])
    _, body = doc("lawful-interception-model")
    subs = h3_headings(h2_sections(body)[heading])
    assert len(subs) == 7
    for component, sub in zip(components, subs, strict=True):
        assert component.lower() in sub.lower()


def test_lgbti_standards_and_principles():
    heading = stated_in_one_section("lgbti-standards", [
        "Standard 1", "respect human rights", "Standard 2", "eliminate discrimination",
        "Standard 3", "support", "Standard 4", "marketplace", "Standard 5", "public sphere"])
    _, body = doc("lgbti-standards")
    assert len(h3_headings(h2_sections(body)[heading])) == 5
    stated_in_one_section("lgbti-standards", ["principles", "respect", "eliminate discrimination",
                                              "support", "public sphere"])


def test_three_approaches_to_hostile_jurisdictions():
    heading = stated_in_one_section("hostile-jurisdictions",
                                    ["When in Rome", "Embassy", "Advocate", "Risks"])
    _, body = doc("hostile-jurisdictions")
    subs = h3_headings(h2_sections(body)[heading])
    assert [s for s in subs if "Rome" in s or "Embassy" in s or "Advocate" in s] == subs[:3]


def test_six_venue_considerations():
    heading = stated_in_one_section("meeting-venues", [
        "track record", "mission", "local peers", "NGO", "legitimi", "solidarity", "hospitality",
        "subsidies", "safety", "participants"])
    _, body = doc("meeting-venues")
    assert len(h3_headings(h2_sections(body)[heading])) == 6


# ----- our own words: no 10-word run shared with the material we were given


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def ten_word_runs(text: str) -> set[str]:
    w = words(text)
    return {" ".join(w[i:i + 10]) for i in range(len(w) - 9)}


@pytest.fixture(scope="module")
def shared_runs(fixtures_dir) -> set[str]:
    """10-word runs of the seed, the fixture texts and the briefing docs in ../shared."""
    shared = fixtures_dir.parent
    folders = [shared / "seed", shared / "fixtures" / "texts", shared / "docs"]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        pytest.skip(f"../shared is incomplete ({', '.join(missing)} absent)")
    runs: set[str] = set()
    for folder in folders:
        for p in folder.rglob("*"):
            if p.is_file() and p.suffix in (".txt", ".md"):
                runs |= ten_word_runs(p.read_text(errors="replace"))
    assert runs, "no shared text found to compare against"
    return runs


def test_no_corpus_file_copies_ten_words_in_a_row_from_shared_material(shared_runs):
    copied = {}
    for path in [*FILES, CORPUS / "README.md"]:
        if path.exists():
            hits = ten_word_runs(path.read_text(encoding="utf-8")) & shared_runs
            if hits:
                copied[str(path.relative_to(CORPUS))] = sorted(hits)[:2]
    assert not copied, f"copied 10-word runs: {copied}"


def test_readme_lists_every_document_and_the_topic_vocabulary():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([a-z-]+) \|", readme, re.M)
    assert sorted(rows) == sorted((read(p)[0]["id"], read(p)[0]["kind"]) for p in FILES)
    for path in FILES:
        assert read(path)[0]["url"] in readme
    listed = re.search(r"The topic vocabulary is: (.*?)\.\n\n", readme, re.S).group(1)
    assert {t.strip() for t in listed.replace("\n", " ").split(",")} == TOPICS


# ----- the parts the answer is built from (corpus/README.md, "The parts the answer is built from")
IN_SHORT_ITEM = re.compile(r"^- (?P<q>[A-Z][^?]{8,}\?) (?P<a>[A-Z\"“].{20,}[.)”\"])$")


def named_section(body: str, name: str) -> str:
    found = [text for heading, text in h2_sections(body).items()
             if re.sub(r"^\d+\. ", "", heading) == name]
    assert len(found) == 1, f"needs exactly one section called {name!r}"
    return found[0]


def items(text: str, marker: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.match(marker, ln)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_opens_with_in_short_questions_and_answers(path):
    """Section 1 holds the bottom lines: each bullet is a question, then the library's answer."""
    _, body = read(path)
    first = list(h2_sections(body))[0]
    assert first == "1. In short"
    bullets = items(h2_sections(body)[first], r"^- ")
    assert 2 <= len(bullets) <= 8, bullets
    for bullet in bullets:
        assert IN_SHORT_ITEM.match(bullet), f"not '- Question? Answer.': {bullet!r}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_says_what_to_do_and_what_to_watch_for(path):
    _, body = read(path)
    steps = items(named_section(body, "What to do"), r"^\d+\. ")
    assert 3 <= len(steps) <= 8
    for n, step in enumerate(steps, 1):
        assert step.startswith(f"{n}. ") and step.endswith((".", ".)")), step
    watch = named_section(body, "Watch for and escalate when")
    assert h3_headings(watch) == ["Red flags", "Escalate when"]
    assert len(items(watch, r"^- ")) >= 4
    assert "TODO" not in body


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_section_questions_point_at_sections_that_exist(path):
    meta, body = read(path)
    numbers = {m.group(1) for m in re.finditer(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", body, re.M)}
    questions = meta.get("questions") or {}
    assert isinstance(questions, dict)
    for section, asked in questions.items():
        assert str(section) in numbers, f"no section {section}"
        assert asked and all(isinstance(q, str) and len(q) >= 3 for q in asked)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_sections_a_document_applies_exist(path):
    meta, _ = read(path)
    for doc_id, numbers in (meta.get("applies") or {}).items():
        assert doc_id != path.stem, "a document applies itself"
        _, body = doc(doc_id)
        present = {m.group(1) for m in re.finditer(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", body, re.M)}
        missing = [n for n in numbers or () if str(n) not in present]
        assert not missing, f"{doc_id} has no section {missing}"
