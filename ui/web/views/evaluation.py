"""Evaluation: the latest evaluation report (headline metrics, categories, chart, failures).

"Run the evaluation" calls `evals.evaluation.run_evaluation` in a background thread of this
app process, as `hrdd eval` does: it builds its own library in <data_dir>/eval-library (its
own Chroma folder) and writes its report to the reports folder this page reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from evals import report as report_module
from evals import uncertainty
from evals.evaluation import run_evaluation
from ui.web import components as ui
from ui.web import resources

HEADLINE = (("recall_at_5", "Recall@5"), ("mrr_at_10", "MRR@10"),
            ("keypoint_coverage", "Key points covered"), ("citation_support", "Citation support"),
            ("decline_accuracy", "Decline accuracy"), ("deal_accuracy", "Deal accuracy"),
            ("answer_p95_ms", "Answer p95 (ms)"))
REFRESH_SECONDS = 2.0
CATEGORY_COLUMNS = (("recall_at_5", "Recall@5"), ("mrr_at_10", "MRR@10"),
                    ("ndcg_at_10", "nDCG@10"), ("keypoint_coverage", "Key points"),
                    ("citation_support", "Citation support"),
                    ("decline_accuracy", "Decline accuracy"), ("deal_accuracy", "Deal accuracy"),
                    ("answer_p95_ms", "Answer p95 (ms)"))


def main() -> None:
    ui.page_header("Evaluation", "How well the assistant retrieves, cites and declines on the "
                   "golden question set, from the latest evaluation run.",
                   ":material/monitoring:")
    _runner()
    report = report_module.latest_report(resources.reports_dir())
    if not report or not report.get("pipelines"):
        st.info("No evaluation report yet. Run the evaluation with the button above or with "
                "`hrdd eval` in a terminal; reports are written to evals/reports/.",
                icon=":material/info:")
        return
    _show(report)


@dataclass
class Job:
    """An evaluation started from this app process: how far it got, and how it ended."""

    thread: threading.Thread | None = None
    progress: str = ""
    error: str = ""

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@st.cache_resource(show_spinner=False)
def _job() -> Job:
    """The one evaluation of this app process (one at a time, shared by every browser tab)."""
    return Job()


def _runner() -> None:
    job = _job()
    if job.running:
        _progress(job)
        return
    if job.error:
        st.warning(f"The last evaluation run stopped: {ui.inline(job.error)}",
                   icon=":material/warning:")
    if st.button("Run the evaluation", icon=":material/play_arrow:",
                 help="Runs the golden set in the background on its own copy of the starter "
                      "library; the first run takes several minutes."):
        settings, reports = resources.settings(), resources.reports_dir()
        embedder = resources.library().embedder  # the model this process has loaded already

        def work() -> None:
            job.error = ""
            try:
                run_evaluation(settings, out_dir=reports, embedder=embedder,
                               status=lambda m: setattr(job, "progress", m),
                               progress=lambda name, done, total: setattr(
                                   job, "progress", f"{name}: {done} of {total}"))
            except Exception as exc:  # noqa: BLE001 - shown on the next visit to the page
                job.error = f"{type(exc).__name__}: {exc}"

        job.thread = threading.Thread(target=work, daemon=True, name="hrdd-eval")
        job.thread.start()
        st.rerun()


@st.fragment(run_every=REFRESH_SECONDS)
def _progress(job: Job) -> None:
    """How far the running evaluation got, redrawn every few seconds; the whole page once it
    is done, so the new report shows without a click."""
    if not job.running:
        st.rerun(scope="app")
    st.info(f"An evaluation is running ({ui.inline(job.progress or 'starting')}). The new "
            "report shows here when it is done.", icon=":material/hourglass_top:")


def _show(report: dict) -> None:
    pipelines = report["pipelines"]
    name = "ours" if "ours" in pipelines else next(iter(pipelines))
    main = pipelines[name]
    library = report.get("library", {})
    golden = ", ".join(f"{n} {c}" for c, n in report.get("golden", {}).items())
    st.caption(f"Run of {ui.inline(report.get('created', '?'))} · "
               f"{report.get('seconds', 0):.0f} s · library of {library.get('documents', '?')} "
               f"documents, {library.get('chunks', '?')} chunks · golden set: "
               f"{ui.inline(golden)}")
    summary = main["summary"]
    shown = [(k, label) for k, label in HEADLINE if summary.get(k) is not None]
    for row in (shown[:4], shown[4:]):
        columns = st.columns(4)
        for column, (key, label) in zip(columns, row, strict=False):
            column.metric(label, report_module.fmt(key, summary[key]),
                          border=True)
    st.subheader("By category", anchor=False)
    st.dataframe([{"Category": cat, "Items": s.get("deals") if cat == "deal"
                   else s.get("questions"),
                   **{label: _number(s.get(key), key) for key, label in CATEGORY_COLUMNS}}
                  for cat, s in main.get("categories", {}).items()],
                 hide_index=True, width="stretch")
    _intervals(main.get("uncertainty") or {})
    if report.get("chart") and Path(report["chart"]).is_file():
        st.subheader("Chart", anchor=False)
        st.image(report["chart"], width="stretch")
    worst = report_module.worst_questions(main)
    wrong_deals = [r for r in main.get("items", []) if r.get("category") == "deal"
                   and not r.get("correct")]
    st.subheader(f"Failing questions ({len(worst) + len(wrong_deals)})", anchor=False)
    if not worst and not wrong_deals:
        st.caption("None: every question met its expectations.")
    if worst:
        st.dataframe(ui.cells([{"ID": r["id"], "Category": r["category"], "Question": r["question"],
                       "Problem": _verdict(r), "Recall@5": _number(r.get("recall_at_5")),
                       "Key points": _number(r.get("keypoint_coverage")),
                       "Missing key points": ", ".join(r.get("missing_key_points") or [])}
                      for r in worst]), hide_index=True, width="stretch")
    if wrong_deals:
        st.dataframe(ui.cells([{"ID": r["id"], "Expected": r.get("expected_decision"),
                       "Decided": r.get("predicted_decision"), "Error": r.get("error") or ""}
                      for r in wrong_deals]), hide_index=True, width="stretch")
    comparison = report.get("comparison") or {}
    if comparison:
        with st.expander("Against the baselines"):
            for w in comparison.get("wins", []):
                st.markdown(f"- Wins on **{ui.inline(w['metric'])}**")
            for loss in comparison.get("losses", []):
                st.markdown(f"- Loses on **{ui.inline(loss['metric'])}** to "
                            + ui.inline(", ".join(loss.get("better", {}))))
    if report.get("report_dir"):
        st.caption(f"Full report: {ui.inline(Path(report['report_dir']) / 'report.md')}")


def _intervals(u: dict) -> None:
    """The headline figures on each half with their 95% intervals (evals.uncertainty)."""
    if not u.get("figures"):
        return
    st.subheader("How sure these figures are", anchor=False)
    st.caption("95% bootstrap intervals over the questions, on the whole set and on each half "
               "(tune: what the design was fitted on; held-back: what it was not). A change "
               "smaller than an interval's width may be chance.")
    st.dataframe([{"Figure": label, **{half.capitalize(): uncertainty.cell(figures.get(half))
                                       for half in uncertainty.HALVES}}
                  for label, figures in u["figures"].items()], hide_index=True, width="stretch")


def _verdict(r: dict) -> str:
    if r.get("expect_decline") and not r.get("declined"):
        return "answered, should have declined"
    if r.get("declined") and not r.get("expect_decline"):
        return "declined, should have answered"
    return "incomplete sources or key points"


def _number(value, key: str = "") -> float | None:
    if isinstance(value, float):
        return round(value) if key.endswith("_ms") else round(value, 3)
    return value


main()
