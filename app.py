"""docsearch in the browser: ask, look up, manage the library, read.

    streamlit run app.py

The pages live in the package (docsearch.ui); this file is the entry Streamlit runs.
"""
import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from docsearch.ui.main import main  # noqa: E402

main()
