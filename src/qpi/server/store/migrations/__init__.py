"""Checked-in schema migrations, applied in order by qpi.server.store.migrate."""
