"""The Streamlit app: pages, texts and rendering. Presentation only: every search, answer and change
goes through the facade. Nothing imports this package; `app.py` at the repository root starts it."""
