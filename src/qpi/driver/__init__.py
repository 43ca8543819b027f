"""QPI subpackage."""
