"""PyTorch reference for `npm run bench` and the GPU benchmark (bench/gpu/): the same two VAEs as
dlvm's VAE.mlp and VAE.conv (channels 32, 64), the same loss (Bernoulli on logits, posterior
scale softplus(.) + 1e-5, closed-form Gaussian KL), Adam 1e-3; and n x n float32 matmul GFLOP/s.

Usage: python3 bench/torch_vae.py <mlp|conv|matmul> <threads> <seconds>
           [--device cpu|cuda] [--batch 128[,1024,...]] [--max-steps N] [--sizes 1024,4096] [--tf32]
Prints one JSON line per batch size (per matrix size for matmul): samples/s after warm-up (the
loss is read with .item() every step, as dlvm's benchmark reads it) and peak RSS / GPU memory.
Float32 throughout: TF32 is off on CUDA unless --tf32. Needs torch (Debian python3-torch).
"""
import argparse
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


def memory(device):
    out = {'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == 'cuda':
        out['peakGpuMB'] = torch.cuda.max_memory_allocated(device) / 2 ** 20
    return out


def train(kind, batch, seconds, max_steps, device):
    """Samples/s of Adam steps on one random binary batch, after the same warm-up as dlvm's bench."""
    torch.manual_seed(0)
    enc, dec, shape = mlp() if kind == 'mlp' else conv()
    enc, dec = enc.to(device), dec.to(device)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
    x = (torch.rand(batch, *shape, device=device) > 0.5).float()

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

    # Warm-up as bench/measure.ts: the first step, then steps until two agree within 30% (at most
    # 20 steps and 30 s).
    t = time.perf_counter()
    step()
    previous = time.perf_counter() - t
    warmup_steps, w0 = 1, time.perf_counter()
    while True:
        t = time.perf_counter()
        step()
        s = time.perf_counter() - t
        warmup_steps += 1
        if abs(s - previous) <= 0.3 * min(s, previous) or warmup_steps >= 20 or time.perf_counter() - w0 > 30:
            break
        previous = s
    steps, loss, t0 = 0, float('nan'), time.perf_counter()
    while (time.perf_counter() - t0 < seconds or steps < 2) and steps < max(max_steps, 1):
        loss = step()
        steps += 1
    dt = time.perf_counter() - t0
    return {'batch': batch, 'samplesPerSec': steps * batch / dt, 'steps': steps, 'warmupSteps': warmup_steps,
            'stepSeconds': dt / steps, 'loss': loss}


def matmul(n, seconds, device):
    """GFLOP/s of an n x n float32 matmul, queued in rounds as bench/measure.ts does."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    (a @ b).sum().item()
    per_round, products, t0 = 1, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or products < 2:
        r0 = time.perf_counter()
        for _ in range(per_round):
            c = a @ b
        c[0, 0].item()
        products += per_round
        if time.perf_counter() - r0 < 0.05:
            per_round *= 2
    return 2 * n ** 3 * products / (time.perf_counter() - t0) / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('task', choices=['mlp', 'conv', 'matmul'])
    p.add_argument('threads', type=int)
    p.add_argument('seconds', type=float)
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', default='128', help='comma-separated batch sizes')
    p.add_argument('--max-steps', type=int, default=sys.maxsize)
    p.add_argument('--sizes', default='512', help='matmul: comma-separated n')
    p.add_argument('--tf32', action='store_true', help='CUDA: allow TF32 in matmuls and convolutions')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if device.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
    base = {'task': a.task, 'backend': 'pytorch', 'kernels': 'torch ' + torch.__version__, 'threads': a.threads,
            'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu',
            'tf32': bool(a.tf32 and device.type == 'cuda')}
    if a.task == 'matmul':
        for n in [int(s) for s in a.sizes.split(',')]:
            print(json.dumps({**base, 'n': n, 'gflops': matmul(n, a.seconds, device), **memory(device)}), flush=True)
        return
    for batch in [int(s) for s in a.batch.split(',')]:
        try:
            r = train(a.task, batch, a.seconds, a.max_steps, device)
        except RuntimeError as err:  # e.g. CUDA out of memory: report it, go on with the next size
            r = {'batch': batch, 'error': str(err).split('\n')[0]}
        print(json.dumps({**base, **r, **memory(device)}), flush=True)
        if device.type == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)


if __name__ == '__main__':
    main()
