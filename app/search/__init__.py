"""Matching engine: encoders, lexical and vector indexes, hybrid ranking, evaluation."""
