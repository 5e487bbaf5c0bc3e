"""Embedding models: loading any sentence-transformers model by name or folder, offline first,
and the models shipped inside this package (one folder each, beside this file)."""
