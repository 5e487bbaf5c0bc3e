"""Measurement and maintenance tools on top of the facade: the benchmarks (`eval`, `bench`) and
the copy between backends (`migrate`). They use the public facade only; the CLI calls them."""
