"""Alembic's scripts for the app's database, run by `hrdd db upgrade` (not the `alembic` command).

A new revision: declare the table or column in its module (its MetaData listed in
`assistant/db/tables.py`), then let Alembic write the difference against an up-to-date
database and read it over (new columns nullable or with a server default, so existing rows
stay valid; on SQLite anything beyond adding a column goes through `op.batch_alter_table`):

    from alembic import command
    from assistant import db
    engine = db.new_engine("sqlite:////tmp/draft.sqlite"); db.upgrade(engine)
    with engine.connect() as conn:
        config = db.alembic_config(); config.attributes["connection"] = conn
        command.revision(config, message="Deal owners", autogenerate=True, rev_id="0002")
"""
