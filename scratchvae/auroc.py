"""The area under the ROC curve, computed by hand from ranks (no scikit-learn).

An anomaly detector gives every example a score (here: the VAE's negative ELBO, high = unusual).
Sweeping a threshold over the scores traces the ROC curve (true-positive rate against
false-positive rate); its area has a simpler meaning (Hanley & McNeil 1982):

    AUROC = P(score of a random positive > score of a random negative) + 1/2 P(they tie)
          = (1 / (P N)) sum_{i positive} sum_{j negative} ([s_i > s_j] + 1/2 [s_i = s_j])

1 is a perfect ranking, 0.5 a coin toss. The double sum costs P * N comparisons; ranks give it in
O((P + N) log(P + N)), as the Mann-Whitney U statistic:

    rank all P + N scores together, 1 = smallest; tied scores all get the mean of the ranks they span
    R = sum of the positives' ranks
    U = R - P (P + 1) / 2          (the number of (positive, negative) pairs won, ties counting 1/2)
    AUROC = U / (P N)

Why: the positive of rank r beats r - 1 scores, of which (its rank among the positives) - 1 are
positives; summing over the positives removes 0 + 1 + ... + (P - 1) = P (P - 1) / 2 positive pairs,
and with the ranks starting at 1 that is R - P - P (P - 1) / 2 = R - P (P + 1) / 2. A tie shares its
ranks evenly, which counts each tied (positive, negative) pair as half a win.
"""
import numpy as np


def midranks(scores):
    """Ranks 1..n of a 1-D array, ties given the mean of the ranks they occupy. (n,) -> (n,) float64."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    ranks = np.empty(scores.shape[0], dtype=np.float64)
    # boundaries of runs of equal scores in sorted order
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])      # first index of a run
    ends = np.r_[starts[1:], scores.shape[0]]                                           # one past its last
    mean_rank = (starts + 1 + ends) / 2.0                     # ranks start+1 .. end, their mean
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _checked(where, scores, is_positive):
    scores = np.asarray(scores, dtype=np.float64)
    is_positive = np.asarray(is_positive)
    if scores.ndim != 1 or is_positive.shape != scores.shape:
        raise ValueError(f"{where}: scores and is_positive must be 1-D of one length, got shapes "
                         f"{scores.shape} and {is_positive.shape}")
    if is_positive.dtype != bool:
        raise TypeError(f"{where}: is_positive must be a boolean array, got dtype {is_positive.dtype}")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{where}: scores must be finite, found {int((~np.isfinite(scores)).sum())} NaN/inf")
    P = int(is_positive.sum())
    N = scores.shape[0] - P
    if P == 0 or N == 0:
        raise ValueError(f"{where}: needs at least one positive and one negative, got {P} and {N}")
    return scores, is_positive, P, N


def auroc(scores, is_positive):
    """AUROC of scores (N,) for the labels is_positive (N,) bool: P(positive outscores negative), ties 1/2."""
    scores, is_positive, P, N = _checked("auroc", scores, is_positive)
    R = midranks(scores)[is_positive].sum()
    U = R - P * (P + 1) / 2.0
    return float(U / (P * N))


def placements(scores, is_positive):
    """DeLong's placements: V (P,), the fraction of negatives each positive beats, and W (N,), the
    fraction of positives that beat each negative (ties 1/2). mean(V) = mean(W) = AUROC."""
    scores, is_positive, P, N = _checked("placements", scores, is_positive)
    ranks = midranks(scores)                                          # (P + N,) among all
    V = (ranks[is_positive] - midranks(scores[is_positive])) / N      # (P,) negatives below, ties 1/2
    W = 1.0 - (ranks[~is_positive] - midranks(scores[~is_positive])) / P   # (N,) positives above
    return V, W


def auroc_standard_error(scores, is_positive):
    """DeLong's standard error of auroc(scores, is_positive): sqrt(var(V) / P + var(W) / N).

    Needs at least two positives and two negatives (a sample variance of one number is undefined)."""
    V, W = placements(scores, is_positive)
    if len(V) < 2 or len(W) < 2:
        raise ValueError(f"auroc_standard_error: needs at least two positives and two negatives, "
                         f"got {len(V)} and {len(W)}")
    return float(np.sqrt(V.var(ddof=1) / len(V) + W.var(ddof=1) / len(W)))
