"""Benchmark: metrics_with_ci on 1,000 test patients x 500 bootstrap replicates.

Baseline (same run): a plain loop over the same replicates computing AUROC, AUPRC and
Brier with scikit-learn (row-index resampling), which is what a straightforward
implementation would do (calibration fits and ICI not even included).
"""

import resource
import time
import tracemalloc

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from relapse_ml.evaluation import metrics_with_ci

rng = np.random.default_rng(0)
n, n_boot = 1_000, 500
p = rng.beta(2, 5, n)
y = (rng.random(n) < p).astype(int)
w = rng.uniform(0.5, 2.0, n)

metrics_with_ci(y, p, w, seed=0, n_boot=10)  # warm-up (imports, caches)
tracemalloc.start()
t0 = time.perf_counter()
metrics_with_ci(y, p, w, seed=1, n_boot=n_boot)
ours = time.perf_counter() - t0
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()

t0 = time.perf_counter()
pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
for _ in range(n_boot):
    idx = np.r_[rng.choice(pos, pos.size), rng.choice(neg, neg.size)]
    roc_auc_score(y[idx], p[idx], sample_weight=w[idx])
    average_precision_score(y[idx], p[idx], sample_weight=w[idx])
    brier_score_loss(y[idx], p[idx], sample_weight=w[idx])
baseline = time.perf_counter() - t0

print(f"metrics_with_ci, {n} patients x {n_boot} replicates, 6 metrics: {ours:.2f} s")
print(f"baseline sklearn loop, 3 metrics only:                        {baseline:.2f} s")
print(f"ratio ours / baseline: {ours / baseline:.2f}")
print(f"peak traced memory in metrics_with_ci: {peak / 1e6:.1f} MB")
print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
