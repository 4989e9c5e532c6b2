"""HTTP API (FastAPI) over the catalog, matching, licensing and deal workflow."""
