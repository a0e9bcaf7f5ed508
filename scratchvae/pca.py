"""Principal component analysis, and the angles between two subspaces: what a linear autoencoder is compared with.

The lecture's section 6: a linear autoencoder trained with squared error spans the same subspace as
the top principal components (Baldi & Hornik 1989), in some basis. These three functions are the
yardstick (the autoencoder demo and the notebook demos/notebooks/02_ae_vs_pca call them):

    fit_pca(x, k)                 the mean (D,) and the top-k principal axes V (D, k) of x (N, D)
    pca_reconstruct(pca, x)       x_hat = mean + (x - mean) V V^T, the projection onto those axes   (N, D)
    principal_angles_deg(a, b)    the k angles between the column spaces of a and b (D, k): all 0 = same space

PCA is NumPy's eigendecomposition (np.linalg.eigh), not written by hand: here it is the reference,
not the lesson.
"""
import numpy as np


def fit_pca(x, k):
    """Top-k principal axes of x (N, D): the mean (D,) and V (D, k), the top eigenvectors of the covariance.

    C = (x - mean)^T (x - mean) / N  (D, D);  C v = lambda v: the eigenvectors v are the principal axes
    and the eigenvalues lambda their variances (the same axes as the SVD of the centred data). C is summed
    over chunks of rows in float64, so no (N, D) float64 copy of the data is ever held.
    """
    mean = x.mean(axis=0, dtype=np.float64)                             # (D,)
    cov = np.zeros((x.shape[1], x.shape[1]))                            # (D, D)
    for i in range(0, x.shape[0], 10000):
        xc = x[i:i + 10000].astype(np.float64) - mean
        cov += xc.T @ xc
    _, vecs = np.linalg.eigh(cov / x.shape[0])                          # eigenvalues in ascending order
    return mean, vecs[:, ::-1][:, :k]                                   # (D,), (D, k)


def pca_reconstruct(pca, x):
    """x_hat = mean + (x - mean) V V^T: the orthogonal projection onto the principal subspace.  (N, D)"""
    mean, v = pca
    return (mean + (x.astype(np.float64) - mean) @ v @ v.T).astype(np.float32)


def principal_angles_deg(a, b):
    """Angles in degrees, smallest first, between the column spaces of a (D, k) and b (D, k).

    With orthonormal bases Qa, Qb (from QR), the singular values of Qa^T Qb (k, k) are the cosines
    of the principal angles (Bjorck & Golub 1973): all 0 degrees means the same subspace.
    """
    qa, _ = np.linalg.qr(np.asarray(a, dtype=np.float64))              # (D, k), Qa^T Qa = I
    qb, _ = np.linalg.qr(np.asarray(b, dtype=np.float64))
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)                # (k,), descending
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
