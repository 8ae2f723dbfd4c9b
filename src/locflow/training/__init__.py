"""Training one cross-validation fold: the settings and the fold model they describe, the
split, model-ready inputs, the epoch loop with early stopping and resume, the threshold rule and
the signal head, fitted on the validation fold (`locflow.training.fold.run_train`).
"""
