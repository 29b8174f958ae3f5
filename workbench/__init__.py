"""`clause serve`: a local web workbench for clause files, scenarios, memos and tests.

Everything runs on the lawyer's machine: the server binds to 127.0.0.1, reads and
writes files only inside the directory it serves, and drives the engine through
its public interface (``engine.api``, the checker's diagnostics, the scenario
schema, the memo). Clause files and scenarios are data, never executed as code.
"""
