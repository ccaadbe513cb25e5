"""PyTorch reference for `npm run bench` and the GPU benchmark (bench/gpu/): the same VAEs as
bench/models.ts (dlvm's VAE.mlp 784-512-512 ReLU, the CS236 VAE.mlp 784-300-300 ELU, VAE.conv
with channels 32, 64), the same loss (Bernoulli on logits, posterior scale softplus(.) + 1e-5,
closed-form Gaussian KL), Adam 1e-3; IWAE-k evaluation of the CS236 network as dlvm's
iwaeLogLikelihood computes it (batches of 100 images, draws in chunks of 100, a running
log-sum-exp in float64); and n x n float32 matmul GFLOP/s.

Usage: python3 bench/torch_vae.py <mlp|cs236|conv|iwae|matmul> <threads> <seconds>
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


def cs236():
    enc = nn.Sequential(nn.Linear(784, 300), nn.ELU(), nn.Linear(300, 300), nn.ELU(), nn.Linear(300, 2 * M))
    dec = nn.Sequential(nn.Linear(M, 300), nn.ELU(), nn.Linear(300, 300), nn.ELU(), nn.Linear(300, 784))
    return enc, dec, (784,)


NETS = {'mlp': lambda: mlp(), 'cs236': lambda: cs236(), 'conv': lambda: conv()}


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
    enc, dec, shape = NETS[kind]()
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


def iwae(k, images, seconds, device):
    """Test images per second of IWAE-k on the CS236 network, after a warm-up run at k = 100."""
    torch.manual_seed(0)
    enc, dec, _ = cs236()
    enc, dec = enc.to(device), dec.to(device)
    x_all = (torch.rand(images, 784, device=device) > 0.5).float()
    log2pi = torch.log(torch.tensor(2 * torch.pi, device=device))

    @torch.no_grad()
    def bound(k):
        total = 0.0
        for x in x_all.split(100):
            b = x.shape[0]
            mu, raw = enc(x).chunk(2, dim=1)
            sigma = F.softplus(raw) + 1e-5
            run_max = torch.full((b,), -float('inf'), dtype=torch.float64, device=device)
            run_sum = torch.zeros(b, dtype=torch.float64, device=device)
            for done in range(0, k, 100):
                c = min(100, k - done)
                eps = torch.randn(c, b, M, device=device)
                z = mu + sigma * eps
                logits = dec(z.reshape(c * b, M)).reshape(c, b, 784)
                log_lik = -F.binary_cross_entropy_with_logits(logits, x.expand(c, b, 784), reduction='none').sum(2)
                log_q = (-0.5 * eps ** 2 - torch.log(sigma) - 0.5 * log2pi).sum(2)
                log_p = (-0.5 * z ** 2 - 0.5 * log2pi).sum(2)
                w = (log_lik + log_p - log_q).double()
                new_max = torch.maximum(run_max, w.max(0).values)
                run_sum = run_sum * torch.exp(run_max - new_max) + torch.exp(w - new_max).sum(0)
                run_max = new_max
            total += (run_max + torch.log(run_sum) - torch.log(torch.tensor(float(k), dtype=torch.float64))).sum().item()
        return total / images

    bound(100)
    runs, ll, t0 = 0, float('nan'), time.perf_counter()
    while runs < 1 or time.perf_counter() - t0 < seconds:
        ll = bound(k)
        runs += 1
    dt = time.perf_counter() - t0
    return {'k': k, 'imagesPerSec': runs * images / dt, 'images': images, 'runs': runs, 'logLikelihood': ll}


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
    p.add_argument('task', choices=['mlp', 'cs236', 'conv', 'iwae', 'matmul'])
    p.add_argument('threads', type=int)
    p.add_argument('seconds', type=float)
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', default=None, help='comma-separated batch sizes (default 97 for cs236, else 128)')
    p.add_argument('--k', type=int, default=1000, help='iwae: importance samples')
    p.add_argument('--images', type=int, default=100, help='iwae: test images')
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
    if a.task == 'iwae':
        print(json.dumps({**base, **iwae(a.k, a.images, a.seconds, device), **memory(device)}), flush=True)
        return
    for batch in [int(s) for s in (a.batch or ('97' if a.task == 'cs236' else '128')).split(',')]:
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
