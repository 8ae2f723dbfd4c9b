"""The models: the backbones (pretrained language models and the from-scratch cnn,
proteinbert and birnn, all by name in the registry), the embeddings cache, the DeepLoc 2.0 head
and its losses, padded batches, and the model folder that stores trained folds.
"""
