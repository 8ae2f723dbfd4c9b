"""The demo: a seeded synthetic world with planted sorting signals (`data`, behind `locflow
make-demo-data`), and the whole chain run on it in one process (`run`, behind `locflow demo`).
"""
