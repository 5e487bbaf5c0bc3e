"""The embedded backend: SQLite (documents, keyword index) and FAISS (vectors) in one folder."""
