"""Industry chains (产业链): configuration, automatic tagging of patents and needs, chain views."""
