"""Evaluation: the metrics on hand-worked examples, the golden set's shape, the reports, and the
regression gate that runs the whole golden set on the starter library."""

import json
import math
from pathlib import Path

import pytest

from assistant.answer import Answer, Citation, Passage
from evals.golden_set import GoldenSetError, label_problems, load_golden_set
from evals.metrics import (
    Label,
    Retrieved,
    citation_precision,
    cited_claims,
    deal_scores,
    decline_scores,
    hit_at_k,
    keypoint_coverage,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
    section_number,
    support_counts,
)
from evals.report import latest_report, write_report
from evals.runner import evaluate, gate, run_deals, run_questions

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
THRESHOLDS = json.loads((ROOT / "evals" / "thresholds.json").read_text(encoding="utf-8"))

# --- retrieval metrics -------------------------------------------------------------------

# Two labels: section 3 of "a" (the main source, grade 2) and anywhere in "b".
LABELS = [Label("a", ("3",), grade=2), Label("b")]
# Ranks: 1 unrelated, 2 a§3.1 (first hit), 3 a§3.2 (same label again), 4 b, 5 unrelated.
RANKED = [Retrieved("c"), Retrieved("a", ("3.1",)), Retrieved("a", ("3.2",)), Retrieved("b"),
          Retrieved("d")]


def test_hit_at_k_is_one_once_any_label_is_in_the_top_k():
    assert hit_at_k(RANKED, LABELS, 1) == 0.0
    assert hit_at_k(RANKED, LABELS, 2) == 1.0


def test_recall_counts_each_label_once_however_many_passages_match_it():
    assert recall_at_k(RANKED, LABELS, 2) == 0.5
    assert recall_at_k(RANKED, LABELS, 3) == 0.5
    assert recall_at_k(RANKED, LABELS, 5) == 1.0


def test_mrr_is_the_reciprocal_rank_of_the_first_match_within_k():
    assert mrr_at_k(RANKED, LABELS, 10) == 0.5
    assert mrr_at_k(RANKED, LABELS, 1) == 0.0


def test_ndcg_uses_grades_as_gains_and_ignores_repeats():
    # DCG = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3)
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    ideal = 2 + 1 / math.log2(3)
    assert ndcg_at_k(RANKED, LABELS, 5) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(RANKED, LABELS, 5) == pytest.approx(0.6433, abs=1e-4)
    assert ndcg_at_k([Retrieved("a", ("3",)), Retrieved("b")], LABELS, 10) == pytest.approx(1.0)


def test_a_section_label_accepts_its_subsections_but_not_a_lookalike_number():
    label = Label("a", ("3",))
    assert recall_at_k([Retrieved("a", ("3.4",))], [label], 1) == 1.0
    assert recall_at_k([Retrieved("a", ("30",))], [label], 1) == 0.0
    assert recall_at_k([Retrieved("a", ("3",))], [Label("a", ("3.1",))], 1) == 0.0
    assert recall_at_k([Retrieved("a", page=7)], [Label("a", pages=(7,))], 1) == 1.0
    assert recall_at_k([Retrieved("a", page=6)], [Label("a", pages=(7,))], 1) == 0.0


def test_section_numbers_are_read_from_headings():
    assert section_number("3.1 Prerequisites: legality, necessity") == "3.1"
    assert section_number("7. Handling a government demand") == "7"
    assert section_number("Questions to work through") is None
    assert section_number(None) is None


# --- answer metrics ----------------------------------------------------------------------

def test_keypoint_coverage_accepts_any_phrasing_ignoring_case_and_line_breaks():
    text = "Approval by an independent\n  JUDGE, and oversight.\nPrerequisites come first."
    points = [["independent judge"], ["legality", "prerequisites"], ["notification"]]
    assert keypoint_coverage(text, points) == pytest.approx(2 / 3)


def test_citation_precision_is_the_share_of_citations_to_labelled_documents():
    assert citation_precision(["a", "a", "c"], {"a", "b"}) == pytest.approx(2 / 3)
    assert citation_precision([], {"a"}) is None


ANSWER = """Here is what the library's guidance says, with sources:

**The UNGPs**
- Severity depends on scale, scope and whether harm can be undone. [1]
- Companies must always exit at once. [2]

**Questions to work through** (from The UNGPs, section 6) [3]
1. Which people could be harmed? [3]"""
SOURCES = {1: "Under GP14, severity depends on scale,  scope and whether harm can be undone. More.",
           2: "A company should consider ending the relationship.",
           3: "1. Which people could be harmed?\n2. How severe?"}


def test_support_counts_cited_statements_found_verbatim_in_their_source():
    assert support_counts(ANSWER, SOURCES) == (2, 3)  # the invented claim [2] is unsupported


def test_headings_and_uncited_lines_are_not_claims():
    claims = [c for c, _ in cited_claims(ANSWER)]
    assert claims == ["Severity depends on scale, scope and whether harm can be undone.",
                      "Companies must always exit at once.", "Which people could be harmed?"]


def test_prose_claims_are_split_at_their_markers():
    assert cited_claims("Leverage matters [1]. Exit is a last resort [2][3].") == [
        ("Leverage matters", (1,)), ("Exit is a last resort", (2, 3))]


# --- declines, deals, latency ------------------------------------------------------------

def test_decline_scores_treat_should_decline_as_the_positive_class():
    scores = decline_scores([True, True, False, False, False], [True, False, True, False, False])
    assert scores == {"decline_precision": 0.5, "decline_recall": 0.5, "decline_accuracy": 0.6}
    assert decline_scores([False], [False])["decline_precision"] is None


def test_deal_scores_give_accuracy_and_a_confusion_table():
    scores = deal_scores(["proceed", "escalate", "escalate", "no-go"],
                         ["proceed", "escalate", "no-go", "no-go"])
    assert scores["deal_accuracy"] == 0.75
    assert scores["confusion"] == {"proceed": {"proceed": 1},
                                   "escalate": {"escalate": 1, "no-go": 1},
                                   "no-go": {"no-go": 1}}


def test_percentiles_interpolate_between_ranks():
    assert percentile([40, 10, 30, 20], 50) == 25
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([], 95) is None


# --- the golden set ----------------------------------------------------------------------

GOLDEN = load_golden_set()


def test_the_golden_set_has_enough_items_of_each_kind():
    counts = GOLDEN.counts()
    assert len(GOLDEN.items) >= 80
    assert counts["factual"] >= 30
    assert counts["dilemma"] >= 25
    assert counts["out_of_scope"] >= 12
    assert counts["deal"] >= 12


def test_every_label_names_a_document_and_section_that_exist():
    assert label_problems(GOLDEN, CORPUS) == []


def test_the_development_set_is_labelled_against_the_corpus_and_apart_from_the_golden_set():
    dev = load_golden_set(Path(__file__).resolve().parents[1] / "evals" / "dev")
    assert len(dev.items) >= 100
    assert label_problems(dev, CORPUS) == []
    assert not {i.id for i in dev.items} & {i.id for i in GOLDEN.items}
    assert sum(1 for i in dev.items if i.direction) >= 60


def test_a_wrong_verdict_counts_against_direction_and_as_wrong_but_no_verdict_only_against():
    from evals.runner import summarise

    def record(direction, ok):
        return {"category": "dilemma", "declined": False, "expect_decline": False,
                "retrieval_ms": 1.0, "answer_ms": 1.0, "direction": direction, "direction_ok": ok}

    summary = summarise([record("no", True), record("yes", False), record(None, False),
                         record("depends", True)])
    assert summary["direction_accuracy"] == 0.5
    assert summary["wrong_verdict_rate"] == 0.25


def test_every_answerable_item_has_labels_and_key_points():
    for item in GOLDEN.by_category("factual", "dilemma", "pdf"):
        assert item.labels and item.key_points, item.id


def test_every_deal_scenario_reaches_the_decision_a_reviewer_expects():
    records = run_deals(GOLDEN.by_category("deal"), lambda query: [])
    wrong = [(r["id"], r["expected_decision"], r["predicted_decision"], r["error"])
             for r in records if not r["correct"]]
    assert wrong == []


def test_a_broken_golden_file_is_refused_naming_the_file_and_item(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "category: factual\nitems:\n  - id: my-question\n    question: Why?\n"
        "    relevant: [{doc: ungp, sections: [3.1]}]\n    key_points: [[scale]]\n")
    with pytest.raises(GoldenSetError, match=r"mine.yaml: item 'my-question': quote section"):
        load_golden_set(tmp_path)


def test_duplicate_ids_across_files_are_refused(tmp_path):
    item = "category: out_of_scope\nitems:\n  - id: same\n    question: Lunch?\n"
    (tmp_path / "a.yaml").write_text(item)
    (tmp_path / "b.yaml").write_text(item)
    with pytest.raises(GoldenSetError, match="b.yaml: item id 'same' is already used in a.yaml"):
        load_golden_set(tmp_path)


def test_a_label_on_a_missing_section_is_reported(tmp_path):
    (tmp_path / "x.yaml").write_text(
        "category: factual\nitems:\n  - id: my-q\n    question: Why?\n"
        "    relevant: [{doc: ungp, sections: ['42']}, {doc: no-such-doc}]\n"
        "    key_points: [scale]\n")
    assert label_problems(load_golden_set(tmp_path), CORPUS) == [
        "my-q: ungp has no section 42", f"my-q: no document 'no-such-doc' in {CORPUS}"]


def test_a_selection_takes_at_most_n_items_of_each_category():
    picked = GOLDEN.select(("factual", "deal"), limit=2)
    assert picked.counts() == {"factual": 2, "deal": 2}


# --- runs and reports --------------------------------------------------------------------

class TablePipeline:
    """A pipeline that answers from a fixed table: the runner and report without a model."""

    name = "table"
    assesses_deals = False

    def retrieve(self, question, k):
        doc = "ungp" if "severity" in question else "meeting-venues"
        return [Passage(f"{doc}-1", doc, doc.upper(), "guidance", "Severity is judged by scale.",
                        section="4.2 Severity")]

    def answer(self, question):
        if "lunch" in question:
            return Answer(question, "Not covered.", declined=True)
        cite = Citation(1, "ungp", "UNGP", "Severity is judged by scale.",
                        passage="Severity is judged by scale.")
        return Answer(question, "- Severity is judged by scale. [1]", (cite,))

    def where(self, p):
        return Retrieved(p.doc_id, (section_number(p.section),))


def test_a_run_scores_each_question_and_the_report_is_written_and_found(tmp_path):
    golden = load_golden_set(_write_small_set(tmp_path))
    records = run_questions(TablePipeline(), golden.items)
    by_id = {r["id"]: r for r in records}
    assert by_id["severity"]["recall_at_5"] == 1.0
    assert by_id["severity"]["keypoint_coverage"] == 0.5
    assert by_id["severity"]["support"] == [1, 1]
    assert by_id["lunch"]["declined"] is True

    run = evaluate([TablePipeline()], golden)
    summary = run["pipelines"]["table"]["summary"]
    assert summary["decline_accuracy"] == 1.0
    assert summary["recall_at_5"] == 1.0
    assert gate(summary, {"recall_at_5": 0.9, "keypoint_coverage": 0.9}) == [
        "keypoint_coverage = 0.500 < threshold 0.900"]

    reports = tmp_path / "reports"
    assert latest_report(reports) is None
    first = write_report(run, reports)
    second = write_report(run, reports)
    for name in ("report.json", "report.md", "chart.png"):
        assert (second / name).stat().st_size > 0
    latest = latest_report(reports)
    assert latest["report_dir"] == str(second) != str(first)
    assert latest["pipelines"]["table"]["summary"]["recall_at_5"] == 1.0
    assert "## Worst questions (table)" in (second / "report.md").read_text()
    assert "## How sure these figures are" in (second / "report.md").read_text()


class LLMTablePipeline(TablePipeline):
    """As TablePipeline, but answering in LLM mode with one sentence flagged unsupported."""

    def answer(self, question):
        p = Passage("ungp-1", "ungp", "UNGP", "guidance", "Severity is judged by scale.")
        cite = Citation(1, "ungp", "UNGP", "Severity is judged by scale.", passage=p.text)
        return Answer(question, "Severity turns on scale [1]. It is always fatal [1].", (cite,),
                      passages=(p,), mode="llm", unsupported=("It is always fatal [1].",))


def test_an_llm_answer_is_supported_except_where_its_verifier_flagged_it(tmp_path):
    golden = load_golden_set(_write_small_set(tmp_path))
    record = run_questions(LLMTablePipeline(), golden.by_category("factual"))[0]
    assert record["mode"] == "llm"
    assert record["support"] == [1, 2]


def _write_small_set(tmp_path: Path) -> Path:
    folder = tmp_path / "golden"
    folder.mkdir()
    (folder / "f.yaml").write_text(
        "category: factual\nitems:\n  - id: severity\n    question: How is severity judged?\n"
        "    relevant: [{doc: ungp, sections: ['4']}]\n"
        "    key_points: [[scale], [irremediable]]\n")
    (folder / "o.yaml").write_text(
        "category: out_of_scope\nitems:\n  - id: lunch\n    question: What is for lunch?\n")
    return folder


# --- the regression gate -----------------------------------------------------------------

@pytest.mark.slow
def test_the_full_golden_set_meets_the_regression_gate(corpus_library):
    """Fails when recall@5, key-point coverage, citation support or decline accuracy on the
    starter library drop below evals/thresholds.json."""
    from assistant.composition import build_assistant
    from evals.baselines import OursPipeline

    assistant = build_assistant(corpus_library.settings, corpus_library).warm_up()
    run = evaluate([OursPipeline(assistant)], GOLDEN)
    summary = run["pipelines"]["ours"]["summary"]
    counts = GOLDEN.counts()
    assert summary["questions"] == counts["factual"] + counts["dilemma"] + counts["out_of_scope"]
    assert gate(summary, THRESHOLDS) == []
    assert summary["deal_accuracy"] == 1.0


@pytest.mark.slow
def test_questions_on_the_real_gni_pdf_find_the_expected_page(fixtures_dir, tmp_path, embedder):
    from assistant.composition import Library, build_assistant
    from assistant.settings import Settings
    from evals.baselines import OursPipeline
    from evals.metrics import mean
    from ingest.pipeline import ingest

    items = GOLDEN.by_category("pdf")
    fixture = items[0].fixture
    if not fixture.is_file():
        pytest.skip(f"{fixture} not found: the GNI PDF questions need it")
    settings = Settings(_env_file=None, data_dir=tmp_path / "gni-pdf")
    library = Library(settings, embedder=embedder)
    report = ingest(library, [fixture])
    assert not report.failed, [o.to_dict() for o in report.failed]
    records = run_questions(OursPipeline(build_assistant(settings, library)), items)
    assert not [r["id"] for r in records if r["declined"]]
    assert mean(r["hit_at_5"] for r in records) >= THRESHOLDS["pdf_hit_at_5"]
    assert mean(r["mrr_at_10"] for r in records) >= THRESHOLDS["pdf_mrr_at_10"]
