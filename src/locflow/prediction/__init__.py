"""Prediction: the ensemble of fold models, streaming a FASTA file of any size through it, the
files predictions are written as, the per-protein attention figures, and the model shipped
with locflow (`default_model/`).
"""
