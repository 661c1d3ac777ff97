"""The chapter's last section: the same sum with NumPy, over a contiguous array of int64."""
import numpy as np


def make_data(n):
    return np.arange(n, dtype=np.int64)


def sum_numpy(data):
    return int(data.sum())


def arange_and_sum(n):
    return int(np.arange(n, dtype=np.int64).sum())
