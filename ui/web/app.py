"""HRDD Assistant's web app: `streamlit run ui/web/app.py` (or `hrdd up`).

Four pages: Ask (cited answers), Deal assessment (guided playbooks), Library (documents)
and Evaluation (the latest evaluation report). The sidebar shows the library's status.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from assistant import datadir
from assistant.offline import prepare_process
from ui.web import components, resources, signin

prepare_process(resources.settings().embedding_threads)  # the process edge
HERE = Path(__file__).resolve().parent
# The pages live in views/, not pages/: Streamlit treats a `pages/` folder beside the main
# script as a legacy multipage app on a process's first run (and on every AppTest run), which
# shows "Page not found" for a deep link or runs a page without this script's navigation.

# An emoji icon, drawn by the browser: a Material icon's favicon is fetched from Google's font
# server, and the app loads nothing from the internet.
st.set_page_config(page_title="HRDD Assistant", page_icon="⚖️", layout="wide",
                   initial_sidebar_state="auto")

ask = st.Page(HERE / "views" / "ask.py", title="Ask", icon=":material/forum:", url_path="ask")


def _home() -> None:
    """The root URL opens Ask. Ask is not itself the default page: Streamlit serves the default
    page at "/" only, so a bookmark of /ask showed "Page not found" on every fresh visit."""
    st.switch_page(ask, query_params=st.query_params.to_dict())


pages = [
    st.Page(_home, title="HRDD Assistant", url_path="home", default=True, visibility="hidden"),
    ask,
    st.Page(HERE / "views" / "assess.py", title="Deal assessment", icon=":material/fact_check:",
            url_path="assess"),
    st.Page(HERE / "views" / "library.py", title="Library", icon=":material/library_books:",
            url_path="library"),
    st.Page(HERE / "views" / "evaluation.py", title="Evaluation", icon=":material/monitoring:",
            url_path="evaluation"),
]
page = st.navigation(pages, position="top")
if behind := resources.schema_behind():  # a new version on a shared database: no page runs
    st.error(components.inline(behind), icon=":material/database:")
    st.stop()
# Our own layout rules only (no document text): less empty space above each page, and the
# sidebar's step list aligned left like a list.
st.html("""<style>
[data-testid="stMainBlockContainer"] { padding-top: 3rem; }
[data-testid="stSidebar"] [data-testid="stBaseButton-tertiary"] {
  justify-content: flex-start; text-align: left; min-height: 1.9rem; }
[data-testid="stSidebar"] [data-testid="stBaseButton-tertiary"] p { text-align: left; }
</style>""")

user = signin.current_user()  # with sign-in configured: nobody past here unsigned

with st.sidebar:
    st.markdown("### :material/balance: HRDD Assistant")
    st.caption("Human-rights due diligence guidance, with citations.")
    signin.sidebar(user)
    status = st.container()

page.run()

with status:  # filled after the page ran, so an ingest or removal shows at once
    try:
        components.library_status(resources.library().store.documents())
    except Exception as exc:  # noqa: BLE001 - the pages say what is wrong; keep the sidebar up
        logging.getLogger(__name__).warning("library unavailable", exc_info=exc)
        st.caption(f"Library unavailable: {components.inline(exc)}")
    st.caption(f"Data folder: {components.inline(resources.data_dir())}")
    for warning in datadir.warnings(resources.data_dir()):  # a data folder others can read
        st.warning(components.inline(warning), icon=":material/lock_open:")
