"""The write path: one open library and its write protocol (locks, crash healing), adding and
removing articles through the batch pipeline, corpus-folder sync, and verify/repair."""
