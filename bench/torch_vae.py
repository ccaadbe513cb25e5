"""PyTorch reference for `npm run bench`: the same two VAEs as dlvm's VAE.mlp and VAE.conv
(channels 32, 64), the same loss (Bernoulli on logits, posterior scale softplus(.) + 1e-5,
closed-form Gaussian KL), Adam 1e-3, batch 128.

Usage: python3 bench/torch_vae.py <mlp|conv> <threads> <seconds>
Prints one JSON line: samples/s after warm-up and peak RSS. Needs torch (Debian python3-torch).
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

M = 10


def mlp():
    enc = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 2 * M))
    dec = nn.Sequential(nn.Linear(M, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 784))
    return enc, dec, (784,)


def conv():
    enc = nn.Sequential(
        nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 2 * M))
    dec = nn.Sequential(
        nn.Linear(M, 7 * 7 * 64), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1), nn.Flatten())
    return enc, dec, (1, 28, 28)


def main():
    kind, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    enc, dec, shape = mlp() if kind == 'mlp' else conv()
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    batch = 128
    x = (torch.rand(batch, *shape) > 0.5).float()

    def step():
        mu, raw = enc(x).chunk(2, dim=1)
        sigma = F.softplus(raw) + 1e-5
        z = mu + sigma * torch.randn_like(mu)
        logits = dec(z)
        rec = F.binary_cross_entropy_with_logits(logits, x.reshape(batch, 784), reduction='none').sum(1)
        kl = (0.5 * (sigma ** 2 + mu ** 2 - 1) - torch.log(sigma)).sum(1)
        loss = (rec + kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    step()
    step()
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or steps < 2:
        loss = step()
        steps += 1
    dt = time.perf_counter() - t0
    print(json.dumps({
        'task': kind, 'backend': 'pytorch', 'kernels': 'torch ' + torch.__version__, 'threads': threads,
        'samplesPerSec': steps * batch / dt, 'steps': steps, 'loss': loss,
        'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == '__main__':
    main()
