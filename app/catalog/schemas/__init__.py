"""Request and response shapes of the catalog (patents, needs, organisations)."""
