"""The same workloads as src/workloads.ts, in PyTorch (NCHW), for comparison.

    /usr/bin/python3 torch_bench.py [--quick] [--threads=2] [--only=gpt,vae]

Prints one JSON object in the shape of `pnpm bench`'s per-mode results:
ms per step (median of 10 after 3 warm-up steps; --quick: 2 after 1) and
GFLOP/s for the matMul. Each step ends with `loss.item()`, as the tfjs side
reads its loss back. Keep the architectures in step with src/workloads.ts.
"""
import json
import math
import os
import resource
import sys
import time

def _threads_from_argv():
    for a in sys.argv[1:]:
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "2"


# Debian's torch does its dense matMuls (Linear, matmul) through the system BLAS:
# OpenBLAS (libopenblas0-pthread, which libtorch1.13 recommends) has its own
# thread pool, sized here like torch's. Without it (reference libblas3 only)
# matMul runs at ~1-3 GFLOP/s; the report says which BLAS was loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv())

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ARGS = sys.argv[1:]
QUICK = "--quick" in ARGS


def flag(name, default=None):
    for a in ARGS:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return default


THREADS = int(flag("threads", "2"))
ONLY = flag("only")
ONLY = ONLY.split(",") if ONLY else None
WARMUP = 1 if QUICK else 3
ITERATIONS = 2 if QUICK else 10


def measure(step, flops=None):
    for _ in range(WARMUP):
        step()
    reps = ITERATIONS * 3 if flops else ITERATIONS
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1e3)
    samples.sort()
    mid = len(samples) // 2
    ms = samples[mid] if len(samples) % 2 else (samples[mid - 1] + samples[mid]) / 2
    result = {
        "msPerStep": round(ms, 3),
        "minMs": round(samples[0], 3),
        "samples": [round(s, 2) for s in samples],
    }
    if flops:
        result["gflops"] = round(flops / (ms * 1e6), 1)
    return result


# 1. matMul 512
def mat_mul_512():
    a, b = torch.randn(512, 512), torch.randn(512, 512)

    def step():
        return torch.matmul(a, b)[0, 0].item()  # one element read back, as the tfjs side does

    return measure(step, 2 * 512**3)


# 2. DCGAN, batch 64: one D step and one G step, non-saturating loss, Adam(2e-4, 0.5).
def dcgan():
    batch = 64
    G = nn.Sequential(
        nn.Linear(100, 7 * 7 * 128, bias=False),
        nn.BatchNorm1d(7 * 7 * 128),
        nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Tanh(),
    )
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(7 * 7 * 128, 1),
    )
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 1, 28, 28) * 2 - 1

    def step():
        z = torch.randn(batch, 100)
        with torch.no_grad():
            fake = G(z)
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.softplus(-D(G(z))).mean()
        loss_g.backward()
        opt_g.step()
        return (loss_d + loss_g).item()

    return measure(step)


# 3. MLP VAE, batch 128, Bernoulli likelihood, Adam(1e-3).
def vae():
    batch = 128
    enc, mean, log_var = nn.Linear(784, 512), nn.Linear(512, 20), nn.Linear(512, 20)
    dec, out = nn.Linear(20, 512), nn.Linear(512, 784)
    params = [p for m in (enc, mean, log_var, dec, out) for p in m.parameters()]
    opt = torch.optim.Adam(params, 1e-3)
    x = (torch.rand(batch, 784) > 0.5).float()

    def step():
        eps = torch.randn(batch, 20)
        opt.zero_grad(set_to_none=True)
        h = F.relu(enc(x))
        mu, lv = mean(h), log_var(h)
        z = mu + torch.exp(0.5 * lv) * eps
        logits = out(F.relu(dec(z)))
        nll = (F.softplus(logits) - x * logits).sum()
        kl = 0.5 * (mu.square() + lv.exp() - lv - 1).sum()
        loss = (nll + kl) / batch
        loss.backward()
        opt.step()
        return loss.item()

    return measure(step)


# 4. char GPT, batch 12, context 64, vocab 65, 4 layers, 4 heads, width 128, AdamW.
class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.fc, self.fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (1 / math.sqrt(C // self.heads)) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


def gpt():
    batch, context, vocab, layers, heads, width = 12, 64, 65, 4, 4, 128
    wte, wpe = nn.Embedding(vocab, width), nn.Embedding(context, width)
    blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
    lnf, head = nn.LayerNorm(width), nn.Linear(width, vocab, bias=False)
    modules = nn.ModuleList([wte, wpe, blocks, lnf, head])
    decayed = [p for p in modules.parameters() if p.dim() >= 2]
    others = [p for p in modules.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": 0.1}, {"params": others, "weight_decay": 0.0}],
        lr=3e-4,
        betas=(0.9, 0.95),
        eps=1e-8,
    )
    tokens = torch.randint(0, vocab, (batch, context + 1))
    x, y = tokens[:, :-1], tokens[:, 1:]
    mask = torch.triu(torch.full((context, context), -1e9), diagonal=1)
    pos = torch.arange(context)

    def step():
        opt.zero_grad(set_to_none=True)
        h = wte(x) + wpe(pos)
        for block in blocks:
            h = block(h, mask)
        logits = head(lnf(h))
        loss = F.cross_entropy(logits.view(-1, vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return measure(step)


# 5. small U-Net, batch 64, 28×28×1, GroupNorm(8), SiLU, MSE, Adam(1e-3).
class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.n2, self.c2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.c1(F.silu(self.n1(x)))
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.r1 = nn.Conv2d(1, 32, 3, 1, 1), ResBlock(32, 32)
        self.down = nn.Conv2d(32, 64, 3, 2, 1)
        self.r2, self.r3 = ResBlock(64, 64), ResBlock(64, 64)
        self.up = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.r4, self.out = ResBlock(64, 32), nn.Conv2d(32, 1, 3, 1, 1)

    def forward(self, x):
        r1 = self.r1(self.inp(x))
        low = self.r3(self.r2(self.down(r1)))
        return self.out(self.r4(torch.cat([self.up(low), r1], 1)))


def unet():
    net = UNet()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x, target = torch.randn(64, 1, 28, 28), torch.randn(64, 1, 28, 28)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(x), target)
        loss.backward()
        opt.step()
        return loss.item()

    return measure(step)


# 6. Conv VAE (mnist-conv of @sculpt/vae), batch 128, Bernoulli likelihood, Adam(1e-3).
def conv_vae():
    batch = 128
    enc = nn.Sequential(
        nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 256), nn.ReLU(),
    )
    mean, log_var = nn.Linear(256, 32), nn.Linear(256, 32)
    dec = nn.Sequential(
        nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 32 * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (32, 7, 7)),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(32, 16, 3, 1, 1), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(16, 1, 3, 1, 1),
    )
    params = [p for m in (enc, mean, log_var, dec) for p in m.parameters()]
    opt = torch.optim.Adam(params, 1e-3)
    x = (torch.rand(batch, 1, 28, 28) > 0.5).float()

    def step():
        opt.zero_grad(set_to_none=True)
        h = enc(x)
        mu, lv = mean(h), log_var(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        logits = dec(z)
        nll = (F.softplus(logits) - x * logits).sum()
        kl = 0.5 * (mu.square() + lv.exp() - lv - 1).sum()
        loss = (nll + kl) / batch
        loss.backward()
        opt.step()
        return loss.item()

    return measure(step)


# 7. VQ-VAE (mnist-vq of @sculpt/vae), batch 128: 7x7 grid of K=64 codes of D=32,
# straight-through, commitment 0.25, Bernoulli cross-entropy on grey pixels,
# Adam(1e-3). The gradient step only (no EMA codebook update), as on the tfjs side.
def vq_vae():
    batch, codes, dim = 128, 64, 32
    enc = nn.Sequential(
        nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
        nn.Conv2d(32, dim, 1),
    )
    dec = nn.Sequential(
        nn.Conv2d(dim, 32, 3, 1, 1), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(32, 16, 3, 1, 1), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(16, 1, 3, 1, 1),
    )
    codebook = torch.randn(codes, dim) / codes
    params = [p for m in (enc, dec) for p in m.parameters()]
    opt = torch.optim.Adam(params, 1e-3)
    x = torch.rand(batch, 1, 28, 28)

    def step():
        opt.zero_grad(set_to_none=True)
        z = enc(x).permute(0, 2, 3, 1).reshape(-1, dim)
        with torch.no_grad():
            d = z.square().sum(1, keepdim=True) - 2 * z @ codebook.t() + codebook.square().sum(1)
            e = F.one_hot(d.argmin(1), codes).float() @ codebook
        q = z + (e - z).detach()
        logits = dec(q.reshape(batch, 7, 7, dim).permute(0, 3, 1, 2))
        recon = (F.softplus(logits) - x * logits).sum() / batch
        commit = 0.25 * (z - e).square().sum() / batch
        loss = recon + commit
        loss.backward()
        opt.step()
        return loss.item()

    return measure(step)


def pixel_norm(x, dim=1):
    return x * torch.rsqrt(x.pow(2).mean(dim, keepdim=True) + 1e-8)


def gan_step(G, D, latent, labels, batch=64):
    """One D and one G step, non-saturating loss, Adam(2e-4, 0.5): the sculpt GanModel workloads."""
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 1, 28, 28) * 2 - 1

    def step():
        z = torch.randn(batch, latent)
        with torch.no_grad():
            fake = G(z, labels)
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-D(real, labels)).mean() + F.softplus(D(fake, labels)).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.softplus(-D(G(z, labels), labels)).mean()
        loss_g.backward()
        opt_g.step()
        return (loss_d + loss_g).item()

    return measure(step)


class ProjectionD(nn.Module):
    """sculpt's DCGAN D with a projection head: D(x, y) = w·phi(x) + b + <V_y, phi(x)>."""

    def __init__(self, classes):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 64, 4, 2, 1), nn.Conv2d(64, 128, 4, 2, 1)
        self.fc = nn.Linear(7 * 7 * 128, 1)
        self.embed = nn.Embedding(classes, 7 * 7 * 128) if classes else None

    def forward(self, x, y):
        phi = F.leaky_relu(self.c2(F.leaky_relu(self.c1(x), 0.2)), 0.2).flatten(1)
        out = self.fc(phi)
        if self.embed is not None:
            out = out + (self.embed(y) * phi).sum(1, keepdim=True)
        return out


class ConditionalG(nn.Module):
    """sculpt's cdcgan-mnist G: [z, E_y] -> dense -> 7x7x128 -> up x2 -> up x2, pixel norm."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 16)
        self.fc = nn.Linear(116, 7 * 7 * 128)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z, y):
        h = self.fc(torch.cat([z, self.embed(y)], 1)).view(-1, 128, 7, 7)
        h = F.relu(pixel_norm(self.up1(F.relu(pixel_norm(h)))))
        return torch.tanh(self.up2(h))


# 6. Conditional DCGAN, batch 64 (sculpt: GanModel cdcgan-mnist).
def cdcgan():
    labels = torch.arange(64) % 10
    return gan_step(ConditionalG(), ProjectionD(10), 100, labels)


class ModConv(nn.Module):
    """Modulated conv (StyleGAN2) in input-scaling form, equalized lr, optional noise + lrelu."""

    def __init__(self, cin, cout, k, w_dim, rgb=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.affine_w = nn.Parameter(torch.randn(cin, w_dim))
        self.affine_b = nn.Parameter(torch.ones(cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.strength = nn.Parameter(torch.zeros(1))
        self.rgb, self.k = rgb, k

    def forward(self, x, w):
        s = F.linear(w, self.affine_w / self.affine_w.shape[1] ** 0.5, self.affine_b)
        weight = self.weight / (self.weight[0].numel()) ** 0.5
        y = F.conv2d(x * s[:, :, None, None], weight, padding=self.k // 2)
        if self.rgb:
            return y + self.bias[None, :, None, None]
        d = torch.rsqrt(s.pow(2) @ weight.pow(2).sum((2, 3)).t() + 1e-8)
        y = y * d[:, :, None, None] + self.strength * torch.randn(y.shape[0], 1, *y.shape[2:])
        return F.leaky_relu(y + self.bias[None, :, None, None], 0.2) * 2**0.5


class StyleG(nn.Module):
    """sculpt's stylegan-mnist G: mapping 4 x 64, const 4x4x32, modulated convs 4->7->14->28, skip toRGB."""

    def __init__(self, z_dim=64, w_dim=64, width=32):
        super().__init__()
        self.mapping = nn.ParameterList(
            [nn.Parameter(torch.randn(w_dim, z_dim if i == 0 else w_dim) * 100) for i in range(4)]
        )
        self.mapping_b = nn.ParameterList([nn.Parameter(torch.zeros(w_dim)) for _ in range(4)])
        self.const = nn.Parameter(torch.randn(1, width, 4, 4))
        half = width // 2
        plan = [(4, width, width), (7, width, width), (7, width, width), (14, width, width),
                (14, width, width), (28, width, half), (28, half, half)]
        self.sizes = [p[0] for p in plan]
        self.convs = nn.ModuleList([ModConv(cin, cout, 3, w_dim) for _, cin, cout in plan])
        self.rgbs = nn.ModuleDict({str(j): ModConv(plan[j][2], 1, 1, w_dim, rgb=True) for j in (0, 2, 4, 6)})

    def forward(self, z, y=None):
        w = pixel_norm(z)
        for wt, b in zip(self.mapping, self.mapping_b):
            w = F.leaky_relu(F.linear(w, wt * 0.01 / wt.shape[1] ** 0.5, b * 0.01), 0.2) * 2**0.5
        x, rgb = self.const.expand(z.shape[0], -1, -1, -1), None
        for j, conv in enumerate(self.convs):
            if x.shape[-1] != self.sizes[j]:
                x = F.interpolate(x, size=self.sizes[j], mode="bilinear", align_corners=False)
            x = conv(x, w)
            if str(j) in self.rgbs:
                out = self.rgbs[str(j)](x, w)
                rgb = out if rgb is None else F.interpolate(rgb, size=self.sizes[j], mode="bilinear", align_corners=False) + out
        return torch.tanh(rgb)


# 7. StyleGAN-style G with the DCGAN D, batch 64 (sculpt: GanModel stylegan-mnist).
def stylegan():
    return gan_step(StyleG(), ProjectionD(0), 64, None)


# --- The diffusion family's U-Net (@sculpt/diffusion unet.ts), for sampling and the latent U-Net ---
class SelfAttn(nn.Module):
    """GroupNorm, qkv, softmax(q k^T / sqrt d) v over the H*W positions, projection, residual;
    with `context_dim` the keys and values come from a context sequence (cross-attention)."""

    def __init__(self, c, heads, groups, context_dim=0):
        super().__init__()
        self.heads, self.cross = heads, context_dim > 0
        self.norm = nn.GroupNorm(groups, c)
        if self.cross:
            self.q, self.kv = nn.Linear(c, c, bias=False), nn.Linear(context_dim, 2 * c, bias=False)
        else:
            self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)

    def forward(self, x, context=None, mask=None):
        B, C, H, W = x.shape
        n = self.norm(x).flatten(2).transpose(1, 2)  # [B, N, C]
        split = lambda t: t.view(B, -1, self.heads, C // self.heads).transpose(1, 2)  # noqa: E731
        if self.cross:
            q, (k, v) = split(self.q(n)), [split(t) for t in self.kv(context).chunk(2, -1)]
        else:
            q, k, v = [split(t) for t in self.qkv(n).chunk(3, -1)]
        att = (q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5
        if mask is not None:
            att = att + (1 - mask)[:, None, None, :] * -1e9
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, -1, C)
        return x + self.proj(y).transpose(1, 2).reshape(B, C, H, W)


class EmbResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(groups, cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.emb = nn.Linear(emb, cout)
        self.n2, self.c2 = nn.GroupNorm(groups, cout), nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x))) + self.emb(e)[:, :, None, None]
        return self.skip(x) + self.c2(F.silu(self.n2(h)))


class DiffusionUNet(nn.Module):
    """buildUNet of @sculpt/diffusion: stem (p x p patchify), res blocks + attention per level,
    stride-2 down, middle attention, nearest 2x + conv up, concatenated skips, pixel shuffle."""

    def __init__(self, size, channels, patch, widths, attn_levels, mid_attn, emb, classes, groups,
                 heads, context_dim=0):
        super().__init__()
        self.w0, self.patch, self.classes = widths[0], patch, classes
        self.t1, self.t2 = nn.Linear(widths[0], emb), nn.Linear(emb, emb)
        self.label = nn.Linear(classes + 1, emb, bias=False) if classes else None
        self.stem = nn.Conv2d(channels, widths[0], patch if patch > 1 else 3, patch, 0 if patch > 1 else 1)
        attn = lambda c: nn.ModuleList(  # noqa: E731
            [SelfAttn(c, heads, groups)] + ([SelfAttn(c, heads, groups, context_dim)] if context_dim else []))
        self.down, self.downsample, self.up, self.upsample = (nn.ModuleList() for _ in range(4))
        cin = widths[0]
        for l, w in enumerate(widths):
            self.down.append(nn.ModuleList([EmbResBlock(cin, w, emb, groups)] + ([attn(w)] if l in attn_levels else [])))
            if l < len(widths) - 1:
                self.downsample.append(nn.Conv2d(w, w, 3, 2, 1))
            cin = w
        self.mid = attn(widths[-1]) if mid_attn else None
        for l in range(len(widths) - 1, -1, -1):
            w = widths[l]
            self.up.append(nn.ModuleList([EmbResBlock(cin + w, w, emb, groups)] + ([attn(w)] if l in attn_levels else [])))
            if l > 0:
                self.upsample.append(nn.Conv2d(w, widths[l - 1], 3, 1, 1))
            cin = widths[l - 1] if l > 0 else w
        self.out_norm, self.out = nn.GroupNorm(groups, widths[0]), nn.Conv2d(widths[0], channels * patch * patch, 3, 1, 1)

    def embed(self, t, labels):
        half = self.w0 // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half) / half)
        args = t[:, None] * freqs[None]
        e = self.t2(F.silu(self.t1(torch.cat([args.cos(), args.sin()], 1))))
        if self.label is not None:
            e = e + self.label(F.one_hot(labels, self.classes + 1).float())
        return F.silu(e)

    @staticmethod
    def attend(layers, h, context, mask):
        for a in layers:
            h = a(h, context, mask) if a.cross else a(h)
        return h

    def forward(self, x, t, labels=None, context=None, mask=None):
        e, skips = self.embed(t, labels), []
        h = self.stem(x)
        for l, block in enumerate(self.down):
            h = block[0](h, e)
            if len(block) > 1:
                h = self.attend(block[1], h, context, mask)
            skips.append(h)
            if l < len(self.downsample):
                h = self.downsample[l](h)
        if self.mid is not None:
            h = self.attend(self.mid, h, context, mask)
        for j, block in enumerate(self.up):
            h = block[0](torch.cat([h, skips.pop()], 1), e)
            if len(block) > 1:
                h = self.attend(block[1], h, context, mask)
            if j < len(self.upsample):
                h = self.upsample[j](F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.out(F.silu(self.out_norm(h)))
        return F.pixel_shuffle(h, self.patch) if self.patch > 1 else h


def mnist_unet():
    """@sculpt/diffusion's `mnist` preset: 28x28x1, patch 2, widths 32, 64, attention at 7x7 + middle, 10 classes."""
    return DiffusionUNet(28, 1, 2, [32, 64], [1], True, 128, 10, 8, 2)


def linear_log_sigmas(steps=1000):
    betas = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0)
    return (((1 - abar) / abar).sqrt()).log()


def discrete_v_denoiser(net, log_sigmas):
    """x0 from a v-prediction network on the discrete schedule (sculpt's discreteDenoiser)."""
    grid = torch.arange(len(log_sigmas), dtype=torch.float64)

    def denoise(x, sigma, labels):
        t = torch.from_numpy(__import__("numpy").interp(sigma.log().double().numpy(), log_sigmas.numpy(), grid.numpy())).float()
        s = sigma[:, None, None, None]
        c_in = (s * s + 1).rsqrt()
        v = net(x * c_in, t, labels)
        return x / (s * s + 1) - s * c_in * v

    return denoise


def karras_sigmas(n, lo, hi, rho=7.0):
    ramp = torch.linspace(0, 1, n)
    s = (hi ** (1 / rho) + ramp * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
    return torch.cat([s, torch.zeros(1)])


def dpmpp_2m(denoise, x, sigmas):
    """k-diffusion's sample_dpmpp_2m: one denoiser call per step."""
    old = None
    for i in range(len(sigmas) - 1):
        d = denoise(x, sigmas[i])
        s, s_next = sigmas[i], sigmas[i + 1]
        if s_next == 0:
            x = d
        else:
            h = (-s_next.log()) - (-s.log())
            if old is not None:
                r = ((-s.log()) - (-sigmas[i - 1].log())) / h
                d = (1 + 1 / (2 * r)) * d - (1 / (2 * r)) * old
            x = (s_next / s) * x - torch.expm1(-h) * d
        old = d
    return x


def time_calls(run, quick):
    run()
    times = []
    for _ in range(1 if quick else 3):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2], [round(t, 1) for t in times]


# Inference 1. 20 DPM++ 2M steps with classifier-free guidance (scale 3, cond + uncond in one batch),
# batch 64 (16 in --quick), the mnist U-Net: images/s.
def sampling():
    count, steps, scale = (16 if QUICK else 64), 20, 3.0
    net = mnist_unet().eval()
    base = discrete_v_denoiser(net, linear_log_sigmas())
    labels = torch.arange(count) % 10
    both = torch.cat([labels, torch.full((count,), 10)])

    def guided(x, sigma):
        out = base(torch.cat([x, x]), sigma.expand(2 * count), both)
        cond, uncond = out.chunk(2)
        return uncond + scale * (cond - uncond)

    sigmas = karras_sigmas(steps, 0.0292, 14.6)

    def run():
        with torch.inference_mode():
            return dpmpp_2m(guided, torch.randn(count, 1, 28, 28) * sigmas[0], sigmas).sum().item()

    ms, samples = time_calls(run, QUICK)
    return {"msPerStep": round(ms / steps, 2), "imagesPerSecond": round(count * 1000 / ms, 2), "samples": samples}


# Inference 2. @sculpt/autoregressive's `char-small` GPT (context 128, 4 layers, 4 heads, width 160,
# tied head), batch 1, 256 new tokens from a 16-token prompt, KV cache; when the context is full the
# cache is dropped and the last 64 tokens re-read (learned positions), as sculpt's generate does.
class CachedGPT(nn.Module):
    def __init__(self, vocab=96, context=128, layers=4, heads=4, width=160):
        super().__init__()
        self.context, self.heads = context, heads
        self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.lnf = nn.LayerNorm(width)

    def forward(self, ids, cache):
        B, T = ids.shape
        past = cache[0][0].shape[2] if cache else 0  # positions count from the cache's first token
        h = self.wte(ids) + self.wpe(torch.arange(past, past + T))
        for i, b in enumerate(self.blocks):
            C = h.shape[-1]
            q, k, v = b.qkv(b.ln1(h)).view(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
            if i < len(cache):
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            att = (q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5
            if T > 1:
                att = att + torch.triu(torch.full((T, k.shape[2]), -1e9), diagonal=k.shape[2] - T + 1)
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
            h = h + b.proj(y)
            h = h + b.fc2(F.gelu(b.fc(b.ln2(h)), approximate="tanh"))
        return self.lnf(h[:, -1]) @ self.wte.weight.t()


def generation():
    new_tokens = 256
    model = CachedGPT().eval()
    prompt = [(ord(c) - 32) for c in "Call me Ishmael."]
    gen = torch.Generator().manual_seed(0)

    def run():
        tokens, cache, start = list(prompt), [], 0
        with torch.inference_mode():
            for _ in range(new_tokens):
                seen = start + (cache[0][0].shape[2] if cache else 0)
                fresh = tokens[seen:]
                if cache and cache[0][0].shape[2] + len(fresh) > model.context:
                    cache.clear()
                    fresh = tokens[-model.context // 2:]
                    start = len(tokens) - len(fresh)
                elif not cache:
                    start = len(tokens) - len(fresh)
                logits = model(torch.tensor([fresh]), cache)
                tokens.append(int(torch.multinomial(logits.softmax(-1), 1, generator=gen)))
        return tokens

    ms, samples = time_calls(run, QUICK)
    return {"tokensPerSecondCached": round(new_tokens * 1000 / ms, 1), "samples": samples}


# 11. The latent U-Net (@sculpt/latent `mnist-text`): 7x7x4 latents, width 64, self- and
# cross-attention (16-token context of width 32) at 7x7 and in the middle; batch 64, v-prediction
# on the discrete schedule, Adam(1e-3).
def latent_unet():
    batch = 64
    net = DiffusionUNet(7, 4, 1, [64], [0], True, 64, 0, 8, 2, context_dim=32)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x0, context = torch.randn(batch, 4, 7, 7), torch.randn(batch, 16, 32)
    mask = (torch.arange(16)[None] < torch.randint(3, 16, (batch, 1))).float()
    abar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0)

    def step():
        opt.zero_grad(set_to_none=True)
        t = torch.randint(0, 1000, (batch,))
        a = abar[t][:, None, None, None]
        eps = torch.randn_like(x0)
        x = a.sqrt() * x0 + (1 - a).sqrt() * eps
        v = a.sqrt() * eps - (1 - a).sqrt() * x0
        loss = (net(x, t.float(), None, context, mask) - v).square().mean()
        loss.backward()
        opt.step()
        return loss.item()

    return measure(step)


WORKLOADS = {
    "matMul512": mat_mul_512,
    "dcgan": dcgan,
    "vae": vae,
    "gpt": gpt,
    "unet": unet,
    "cdcgan": cdcgan,
    "stylegan": stylegan,
    "convVae": conv_vae,
    "vqVae": vq_vae,
    "latentUnet": latent_unet,
    "sampling": sampling,
    "generation": generation,
}


def blas_library():
    """The BLAS shared library this process loaded (from /proc/self/maps)."""
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line.lower()}
        return sorted(libs)
    except OSError:
        return []


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    results = {}
    for name, run in WORKLOADS.items():
        if ONLY and name not in ONLY:
            continue
        try:
            results[name] = run()
            # Peak resident memory of this process so far (KB on Linux): per workload with --only=NAME.
            results[name]["peakRssMB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        except Exception as e:  # report, do not stop the other workloads
            results[name] = {"error": str(e).splitlines()[0][:200]}
    report = {
        "tool": "torch",
        "mode": "torch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "blas": blas_library(),
        "quick": QUICK,
        "warmup": WARMUP,
        "iterations": ITERATIONS,
        "loadAverage": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
