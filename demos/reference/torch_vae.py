"""The speed and quality yardstick: the classic MNIST VAE written in PyTorch (reference only).

PyTorch is never a dependency of scratchvae: `python -m scratchvae.bench --torch PYTHON` runs this script
in that other interpreter and reads its `epoch_s` lines. The model is the PyTorch examples' VAE:
784-400-20-400-784 MLP, ReLU, Bernoulli decoder (BCE with logits, summed over pixels), Gaussian KL,
Adam lr 1e-3, batch 128, 60,000 training images per epoch. Prints one line per epoch:
    epoch E train_loss L test_loss T epoch_s S
where the losses are the negative ELBO in nats per image and epoch_s is the training time of that
epoch alone (no evaluation). MNIST comes from the files inside the package (mnist_idx.py).

Setup, once: a separate virtual environment with the CPU build of torch (no GPU needed; the
environment took 967 MB on disk here; PyTorch's own index serves the CPU wheels and NumPy):
    python3 -m venv ~/torchref
    ~/torchref/bin/pip install torch==2.13.0 numpy --index-url https://download.pytorch.org/whl/cpu
Run (THREADS: torch.set_num_threads; default, torch's own choice: one per core, or OMP_NUM_THREADS):
    ~/torchref/bin/python demos/reference/torch_vae.py EPOCHS [THREADS]
"""
import os
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import load  # noqa: E402

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
if len(sys.argv) > 2:
    torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(1)
xtr = torch.from_numpy(load("train")[0])
xte = torch.from_numpy(load("test")[0])


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def neg_elbo(logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


model = VAE()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
n = xtr.shape[0]
for ep in range(1, epochs + 1):
    t0 = time.perf_counter()
    model.train()
    perm = torch.randperm(n)
    total = 0.0
    for i in range(0, n, 128):
        xb = xtr[perm[i:i + 128]]
        opt.zero_grad()
        logits, mu, logvar = model(xb)
        loss = neg_elbo(logits, xb, mu, logvar)
        loss.backward()
        opt.step()
        total += loss.item()
    seconds = time.perf_counter() - t0
    model.eval()
    test = 0.0
    with torch.no_grad():
        for i in range(0, xte.shape[0], 1000):
            xb = xte[i:i + 1000]
            logits, mu, logvar = model(xb)
            test += neg_elbo(logits, xb, mu, logvar).item()
    print(f"epoch {ep} train_loss {total / n:.4f} test_loss {test / xte.shape[0]:.4f} epoch_s {seconds:.3f}",
          flush=True)
