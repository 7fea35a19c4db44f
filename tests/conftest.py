"""Shared test settings: one torch thread: these tiny models run fastest single-threaded."""

import torch

torch.set_num_threads(1)
