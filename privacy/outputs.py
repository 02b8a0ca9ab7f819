"""Noise for model outputs: the compute layer releases a model's partial result through here.

A model declares the L1 sensitivity of its partial (how much one contributor can move the whole
output vector); the policy grants an epsilon; the Laplace noise comes from diffprivlib's snapping
mechanism, one draw per output value, with the whole vector sharing the budget.
"""

from __future__ import annotations

import numpy as np

from privacy.mechanisms import Component, noisy_sums


def privatise_output(
    values: np.ndarray, l1_sensitivity: float, epsilon: float, bound: float
) -> tuple[np.ndarray, Component]:
    """`values` plus Laplace noise calibrated to an L1 sensitivity and epsilon.

    `bound` is a public bound on each |value| (the snapping mechanism clamps to it).
    """
    if l1_sensitivity <= 0 or epsilon <= 0:
        raise ValueError("sensitivity and epsilon must be positive")
    flat = np.asarray(values, dtype=np.float64).ravel()
    noisy, comp = noisy_sums(flat, epsilon, l1_sensitivity, bound, "model output")
    return noisy.reshape(np.shape(values)), comp


def suppress_small_groups(
    arrays: dict[str, np.ndarray], support: dict[str, np.ndarray], min_group: int
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Cells (along the first axis) resting on fewer than `min_group` records become NaN.

    `support[name]` counts the records behind each first-axis cell of `arrays[name]`; arrays
    without support pass unchanged. Returns the arrays and, per array, the cells suppressed.
    """
    out: dict[str, np.ndarray] = {}
    suppressed: dict[str, int] = {}
    for name, values in arrays.items():
        count = support.get(name)
        if count is None:
            out[name] = values
            continue
        small = np.asarray(count) < min_group
        a = np.array(values, dtype=np.float64, copy=True)
        a[small] = np.nan
        out[name] = a
        suppressed[name] = int(small.sum())
    return out, suppressed
