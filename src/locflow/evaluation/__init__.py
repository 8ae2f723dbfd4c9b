"""Evaluation: a model folder scored by cross-validation or on an independent test set
(predicting with locflow.prediction, then scoring), the metrics, and the HTML report with
DeepLoc 2.0's published numbers beside locflow's and its figures.
"""
