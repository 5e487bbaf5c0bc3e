"""The read path: query analysis, keyword/dense ranking and their fusion, sentence evidence,
answer composition and exact look-up. Reads storage through its protocols; writes nothing."""
