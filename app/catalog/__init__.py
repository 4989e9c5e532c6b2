"""Catalog: organisations, patents (supply) and technology needs (demand)."""
