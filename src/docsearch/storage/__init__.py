"""Storage: the protocols every backend implements (base), the factory that picks one from the
settings, and the backends themselves (embedded SQLite + FAISS; Milvus), each a subpackage that
the factory imports only when it is chosen."""
