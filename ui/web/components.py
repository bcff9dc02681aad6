"""Rendering helpers shared by the pages: escaping, citations, headings, the library status.

Document text is never trusted: every piece of it goes through `md_escape` before
`st.markdown`, so a document holding `<script>` or Markdown tricks shows as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from assistant.answer import Citation
from assistant.markdown import structured

NOT_LEGAL_ADVICE = ("HRDD Assistant gives guidance drawn from its library, not legal advice. "
                    "Check export-control, sanctions and legal questions with the people "
                    "responsible for them.")
# Every ASCII punctuation mark CommonMark lets us escape, plus the ones Streamlit's
# Markdown gives meaning to ($ for maths, : for emoji and colour directives).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&=\"'^])")
_LABEL_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$:&])")
_AUTOLINK = re.compile(r"(?i)https?(?=:)|www(?=\.)|@")
_DANGLING_MARKER = re.compile(r"\n[ \t]*(?:\d{1,3}[.)]|[-*•])[ \t]*$")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
# A citation marker as md_escape leaves it: \[2\] or \[1, 3\].
_ESCAPED_MARKER = re.compile(r"\\\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\\\]")
RISK_COLOURS = {"low": "green", "medium": "orange", "high": "red"}


def cells(rows: Sequence[dict]) -> list[dict]:
    """Table rows safe to export: text that a spreadsheet would run as a formula (it starts
    with =, +, -, @, a tab or a carriage return, as `=HYPERLINK(...)` does) gets a leading
    apostrophe, in the table and in its "Download as CSV" file alike."""
    return [{k: "'" + v if isinstance(v, str) and v[:1] in _FORMULA else v
             for k, v in row.items()} for row in rows]


def md_escape(text: str) -> str:
    """Text that Markdown shows exactly as written (no HTML, links, images, emphasis or maths).

    Escaping is not enough for bare addresses: Streamlit's Markdown (GFM) makes a link of any
    "https://...", "www...." or "name@host.tld" in the text it shows, escaped or not. A zero-
    width space after "http(s)", "www" and "@" breaks each pattern and shows nothing.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK.sub("\\g<0>\u200b", str(text)))


def label(text: str) -> str:
    """A form field's label: shown as written, as `md_escape` does, but punctuation that is
    inert in a one-line label ( ( ) - . ! + = ' " ) is left bare. Streamlit also reads the
    label out as the field's accessible name (aria-label) as it is, so every escape is heard:
    "end backslash use"."""
    out = _LABEL_SPECIAL.sub(r"\\\1", _AUTOLINK.sub("\\g<0>\u200b", " ".join(str(text).split())))
    return re.sub(r"^(\d{0,9})([-+.)])", r"\1\\\2", out)  # "- ", "+ ", "1." or "2)" start a list


def inline(text: str) -> str:
    """One escaped line: whitespace and newlines folded (for labels and table cells)."""
    return md_escape(" ".join(str(text).split()))


def answer_markdown(text: str, sources: Mapping[int, str] | None = None) -> str:
    """An answer's text as safe Markdown for Streamlit (the assistant's own structure kept);
    with `sources` (source number -> container key), each [n] marker of a listed source is a
    link to it (`source_links` opens it), [1, 3] becoming [1][3]."""
    md = structured(text, md_escape)
    if not sources:
        return md

    def link(m: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"\s*[,;]\s*", m.group(1))]
        return "".join(f"[\\[{n}\\]](#{sources[n]})" if n in sources else f"\\[{n}\\]"
                       for n in numbers)

    return _ESCAPED_MARKER.sub(link, md)


def source_keys(prefix: str, items: Sequence[Citation]) -> dict[int, str]:
    """The container key of each source of one answer: `prefix-n`."""
    return {c.n: f"{prefix}-{c.n}" for c in items}


def highlighted(passage: str, quote: str) -> str:
    """The passage as safe Markdown with the quote in bold; the passage alone if the quote
    is the whole passage or cannot be found in it."""
    passage, quote = passage or quote or "", (quote or "").strip()
    passage = _DANGLING_MARKER.sub("", passage)  # a list item the chunk boundary cut off
    span = _find(passage, quote)
    if span is None or (span[0] == 0 and not passage[span[1]:].strip()):
        segments = [(passage, False)]
    else:
        start, end = span
        segments = [(passage[:start], False), (passage[start:end], True), (passage[end:], False)]
    out = []
    for text, bold in segments:
        for i, line in enumerate(text.split("\n")):
            out.append(("\n" if i else "") + _fragment(line, bold))
    md = re.sub(r"\n[ \t]*(?:\n[ \t]*)+", "\n\n", "".join(out))
    return re.sub(r"(?<!\n)\n(?!\n)", "  \n", md).strip()


def citation_label(c: Citation) -> str:
    return f"[{c.n}] {inline(c.title)} — {inline(c.location)}"


def contains(passage: str, quote: str) -> bool:
    """Whether the quote is in the passage (white space aside)."""
    return _find(passage or "", (quote or "").strip()) is not None


def citation(c: Citation, expanded: bool = False,
             more: Callable[[Citation], None] | None = None) -> None:
    """One citation, opened in an expander: title, where it is, and the quote in context;
    `more` draws what else the expander offers (opening a PDF at its page)."""
    with st.expander(citation_label(c), expanded=expanded, icon=":material/format_quote:"):
        st.caption(f"{inline(c.title)} · {inline(c.location)} · document {inline(c.doc_id)}")
        st.markdown(highlighted(c.passage or c.quote, c.quote))
        if more:
            more(c)


def citations(items: Sequence[Citation], heading: str = "Sources",
              more: Callable[[Citation], None] | None = None, prefix: str = "") -> None:
    """The sources under an answer; with `prefix`, each in a container keyed as
    `source_keys` names it, where the answer's [n] links lead."""
    if not items:
        return
    st.markdown(f"**{md_escape(heading)}**")
    keys = source_keys(prefix, items) if prefix else {}
    for c in items:
        with st.container(key=keys.get(c.n)):
            citation(c, more=more)


def source_links() -> None:
    """Make the [n] links of the answers on the page open their source: a click (or Enter on
    the focused link) opens source n's expander, scrolls it into view and moves the focus to
    it. A link's target is a container key (letters, digits and dashes), as
    `answer_markdown` writes it; the listener is installed once per browser tab."""
    st.html("<script>(() => { if (window.hrddSourceLinks) return;"
            " window.hrddSourceLinks = true;"
            " document.addEventListener('click', (ev) => {"
            " const a = ev.target.closest && ev.target.closest('a[href^=\"#\"]');"
            " const key = a && a.getAttribute('href').slice(1);"
            " if (!key || !/^[\\w-]+$/.test(key)) return;"
            " const box = document.querySelector('.st-key-' + key);"
            " if (!box) return;"
            " ev.preventDefault();"
            " const details = box.querySelector('details');"
            " const summary = box.querySelector('summary');"
            " if (details && !details.open && summary) summary.click();"
            " if (summary) summary.focus({preventScroll: true});"
            " setTimeout(() => box.scrollIntoView({block: 'center'}), 50); }); })()</script>",
            unsafe_allow_javascript=True)


def confirmed(pending: str, label: str, icon: str) -> bool:
    """The buttons of a confirmation dialog that stays open while `st.session_state[pending]`
    is set: True once `label` is clicked; Cancel closes it. Either answer clears `pending`."""
    go, cancel = st.columns(2)
    if cancel.button("Cancel", width="stretch"):
        st.session_state.pop(pending, None)
        st.rerun()
    if not go.button(label, type="primary", icon=icon, width="stretch"):
        return False
    st.session_state.pop(pending, None)
    return True


def scroll_to(key: str) -> None:
    """Bring the container keyed `key` to the top of the window once the page is drawn.

    A page with a chat input keeps its view stuck to the bottom as content grows, so a long
    answer's first lines (its bottom line) would end above the screen. The script is ours
    alone: `key` is a name this app makes (letters, digits and dashes), never document text.
    """
    if not re.fullmatch(r"[\w-]+", key):
        raise ValueError(f"scroll_to: {key!r} is not a container key")
    # Scrolled once the run is over and the stale elements are gone (they change the height),
    # and once more a moment later, after the last layout; given up after ten seconds.
    st.html("<script>(() => { const t0 = Date.now(); const go = (again) => {"
            " const el = document.querySelector('.st-key-" + key + "');"
            " const busy = document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"],"
            " [data-stale=\"true\"]');"
            " if (el && !busy) { el.scrollIntoView({block: 'start'});"
            " if (again) setTimeout(() => go(false), 600); return; }"
            " if (Date.now() - t0 < 10000) setTimeout(() => go(again), 200); };"
            " setTimeout(() => go(true), 200); })()</script>", unsafe_allow_javascript=True)


def page_header(title: str, subtitle: str = "", icon: str = "") -> None:
    st.title(f"{icon} {title}".strip(), anchor=False)
    if subtitle:
        st.caption(subtitle)


def legal_note() -> None:
    st.caption(f":material/gavel: {NOT_LEGAL_ADVICE}")


def risk_badge(risk: object | None, prefix: str = "") -> None:
    """A coloured badge for low, medium or high (grey when not rated)."""
    label = str(risk) if risk is not None else "not rated"
    st.badge(f"{prefix}{label}", color=RISK_COLOURS.get(label, "gray"))


def library_status(docs: Sequence) -> None:
    """The sidebar block: how many documents and chunks the library holds."""
    st.markdown("**Library**")
    a, b = st.columns(2)
    a.metric("Documents", len(docs))
    b.metric("Chunks", sum(getattr(d, "chunks", 0) for d in docs))
    if not docs:
        st.caption("Empty: add documents on the Library page.")


def _find(passage: str, quote: str) -> tuple[int, int] | None:
    if not quote:
        return None
    at = passage.find(quote)
    if at >= 0:
        return at, at + len(quote)
    # The quote may differ from the passage in whitespace only: match word by word.
    words = [re.escape(w) for w in quote.split()]
    m = re.search(r"\s+".join(words), passage) if words else None
    return (m.start(), m.end()) if m else None


def _fragment(line: str, bold: bool) -> str:
    """One escaped line fragment, in bold if asked; the spaces around it are kept outside
    the asterisks, where Markdown needs them."""
    core = line.strip()
    if not core:
        return " " if line else ""
    text = f"**{md_escape(core)}**" if bold else md_escape(core)
    return (" " if line[:1].isspace() else "") + text + (" " if line[-1:].isspace() else "")
