"""Console routes, one module per workbench."""
