"""The Milvus backend (a server, or Milvus Lite in one file): connection, store (documents and
metadata, with term statistics and keyword search as mixins) and vectors."""
