"""The Library page's "What the library is missing": the saved questions that were declined or
answered under the weak-match warning, grouped by the topic of the nearest document, with
counts by month and an export, so whoever keeps the library knows what to add next. The
conversations record no one's name, so neither does this view.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

import streamlit as st

from assistant.conversations import Gap
from ui.web import components as ui
from ui.web import resources

NO_TOPIC = "(no close document)"


def gap_rows(gaps: tuple[Gap, ...], docs) -> list[dict]:
    """One row a question: when (UTC), the question, what happened, its nearest topic."""
    topics = {d.doc_id: d.topics for d in docs}
    titles = {d.doc_id: d.title for d in docs}
    rows = []
    for g in gaps:
        nearest = next((i for i in g.nearest_doc_ids if i in topics), None)
        topic = (topics[nearest][0] if nearest and topics[nearest] else NO_TOPIC)
        rows.append({"Asked (UTC)": g.at.strftime("%Y-%m-%d %H:%M"), "Month": g.at.strftime("%Y-%m"),
                     "Question": g.question, "Outcome": "declined" if g.declined else "weak match",
                     "Nearest topic": topic,
                     "Nearest document": titles.get(nearest, "") if nearest else ""})
    return rows


def missing(docs) -> None:
    st.subheader("What the library is missing", anchor=False)
    store = resources.conversations()
    rows = gap_rows(store.gaps(), docs)
    if not rows:
        st.caption("No saved question has been declined or answered with the weak-match "
                   "warning yet.")
    else:
        st.caption(f"{len(rows)} saved question(s) the library declined or matched only "
                   "loosely, grouped by the topic of the nearest document. Who asked is not "
                   "recorded.")
        by_topic = Counter(r["Nearest topic"] for r in rows)
        st.dataframe([{"Topic": t, "Questions": n,
                       "Declined": sum(r["Outcome"] == "declined" for r in rows
                                       if r["Nearest topic"] == t),
                       "Last asked (UTC)": max(r["Asked (UTC)"] for r in rows
                                               if r["Nearest topic"] == t)}
                      for t, n in by_topic.most_common()], hide_index=True, width="stretch")
        months = sorted({r["Month"] for r in rows})
        st.bar_chart([{"Month": m, "Topic": t,
                       "Questions": sum(r["Month"] == m and r["Nearest topic"] == t for r in rows)}
                      for m in months for t in by_topic], x="Month", y="Questions",
                     color="Topic", height=220)
        with st.expander(f"The questions ({len(rows)})", icon=":material/list:"):
            st.dataframe(ui.cells([{k: v for k, v in r.items() if k != "Month"}
                                   for r in reversed(rows)]), hide_index=True, width="stretch")
        st.download_button("Export the missing questions (CSV)", _csv(rows),
                           file_name="hrdd-library-gaps.csv", mime="text/csv",
                           icon=":material/download:")
    votes = store.feedback()
    if votes:
        down = sum(v["rating"] == "down" for v in votes)
        st.caption(f"Feedback: {len(votes)} vote(s), {down} thumbs down.")
        st.download_button("Export feedback (JSONL)", store.feedback_jsonl(),
                           file_name="hrdd-feedback.jsonl", mime="application/json",
                           icon=":material/download:")


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[k for k in rows[0] if k != "Month"],
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(ui.cells(rows))
    return out.getvalue()
