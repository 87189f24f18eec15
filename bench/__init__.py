"""`python -m bench`: the performance benchmark of the service on its embedded backend (issue #6).

Kept free of imports so that `python -m bench.first_answer` (a cold-start probe) imports nothing else.
"""
