"""Alembic's scripts for the app's database (run through `hrdd db upgrade`, not `alembic`)."""
