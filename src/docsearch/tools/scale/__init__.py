"""`docsearch bench --sizes 10k,100k,1m`: how indexing and query cost grow with corpus size.

For each size a synthetic corpus is built from the public DRCD / CMRC 2018 dev paragraphs and
the seed articles, varied so that no passage is an exact copy of another:
- every passage recombines sentences: a run from one source paragraph, interleaved with
  sentences drawn from other paragraphs, partly shuffled, up to a length drawn from the real
  paragraph lengths (so passages are as long as real ones);
- every digit run is replaced by a random number of the same length;
- a third of the passages are converted to Traditional, a third to Simplified (OpenCC), the
  rest kept as written;
- articles hold 1-4 such paragraphs (one passage each).
The corpus goes through the facade's add path (DocSearch.add_articles, the real pipeline) as a
generator; the time spent generating it is measured and left out of indexing throughput.

Then, on that index, in the same process: query latency (median, p95) for keyword, dense,
hybrid search and ask over benchmark questions and a few very common terms; the same queries
against two baselines over the same data: bm25s over the stored jieba tokens (keyword) and an
exact faiss.IndexFlatIP over the same vectors (dense), which also gives dense recall@10.
"""
