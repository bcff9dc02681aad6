"""Who may do what: signed-in users, their roles, the shared audit log and document review.

Nothing here knows Streamlit: the web app (`ui/web/signin.py`) and the CLI say who the user
is; this package decides what that user may do and records what they did.
"""
