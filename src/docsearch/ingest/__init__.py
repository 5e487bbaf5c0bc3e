"""Ingestion: articles from files of every supported format, decoded whatever their encoding.
Below the write path: it reads and checks, and stores nothing."""
from docsearch.ingest.article import (Article, article_from_record, article_from_text, parse_front_matter,
                                       pasted_article)
from docsearch.ingest.decode import decode_bytes
from docsearch.ingest.readers import SUPPORTED_SUFFIXES, corpus_files, read_corpus_file, read_path

__all__ = ["Article", "SUPPORTED_SUFFIXES", "article_from_record", "article_from_text", "corpus_files",
           "decode_bytes", "parse_front_matter", "pasted_article", "read_corpus_file", "read_path"]
