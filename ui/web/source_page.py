"""A PDF citation's page, opened in the app: the page as the PDF draws it with the quoted
passage marked, the page's text as the library read it (the quote highlighted, for copying
and screen readers), and the PDF itself to download.

The picture is drawn by PDFium in a child process (`ingest.pdf_page`), the text read by
`ingest.pdf` as at ingest (a child with time and memory bounds); no viewer component, so
nothing is loaded from the internet. Markdown citations open on their section
(components.citation).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.answer import Citation
from ingest.clean import clean_pages
from ingest.documents import ParseError
from ingest.pdf import read_pdf_pages
from ingest.pdf_page import render_page
from ui.web import components as ui
from ui.web import resources


def open_button(c: Citation, key: str) -> None:
    """Under a PDF citation: a button that opens its page (nothing for other sources)."""
    if c.page is None:
        return
    if st.button(f"Open page {c.page} of the PDF", key=f"pdf-{key}-{c.n}", type="tertiary",
                 icon=":material/picture_as_pdf:"):
        _page(c)


@st.dialog("The cited page", width="large")
def _page(c: Citation) -> None:
    record = next((d for d in resources.library().store.documents() if d.doc_id == c.doc_id),
                  None)
    source = Path(record.source) if record else None
    if source is None or not source.is_file():
        st.warning(f"The PDF of {ui.inline(c.title)} is no longer in the library's folders.")
        return
    try:
        pages = page_texts(str(source), source.stat().st_mtime_ns)
    except ParseError as exc:
        st.error(f"{ui.inline(source.name)} cannot be read now: {ui.inline(exc)}")
        return
    if not 1 <= c.page <= len(pages):
        st.warning(f"{ui.inline(source.name)} has no page {c.page} any more.")
        return
    st.caption(f"{ui.inline(c.title)} · page {c.page} of {len(pages)} · "
               f"{ui.inline(source.name)}")
    text = pages[c.page - 1]
    if not ui.contains(text, c.quote):  # the file changed since it was ingested
        st.info("The quoted words are not on this page of the file as it is now.",
                icon=":material/info:")
    picture, words = st.tabs([":material/image: The page", ":material/notes: Its text"])
    with picture:
        _picture(source, c)
    with words:
        with st.container(border=True, height=520):
            st.markdown(ui.highlighted(text, c.quote))
    st.download_button("Download the PDF", source.read_bytes(), file_name=source.name,
                       mime="application/pdf", icon=":material/download:", on_click="ignore")


def _picture(source: Path, c: Citation) -> None:
    try:
        png, marked = page_picture(str(source), source.stat().st_mtime_ns, c.page, c.quote)
    except ParseError as exc:
        st.info(f"The page cannot be drawn ({ui.inline(exc)}); its text is in the next tab.",
                icon=":material/info:")
        return
    st.image(png, caption=(f"Page {c.page}: the quoted passage is marked in yellow." if marked
                           else f"Page {c.page} (the quoted words were not found to mark)"),
             width="stretch")


@st.cache_data(show_spinner="Drawing the page ...", max_entries=32)
def page_picture(path: str, mtime_ns: int, page: int, quote: str) -> tuple[bytes, bool]:
    """The page as a PNG with the quote marked (cached per file version and quote)."""
    return render_page(Path(path), page, quote, resources.settings().limits)


@st.cache_data(show_spinner="Reading the PDF ...", max_entries=16)
def page_texts(path: str, mtime_ns: int) -> list[str]:
    """The cleaned text of each page (cached per file version: `mtime_ns` is the key)."""
    return clean_pages(read_pdf_pages(Path(path), resources.settings().limits))
