"""adamw_reference.py — independent reference numbers for tests/test_adamw.c.

Google's AdamWeightDecayOptimizer is re-derived here in plain Python floats
(double); the bias-corrected variant is torch.optim.AdamW itself (float64),
with Google's clip_by_global_norm applied to the gradients before the step.
Run with Debian's python3-torch: /usr/bin/python3 tests/reference/adamw_reference.py
The C tests never run this; they contain the numbers it prints."""
import math
import torch

P0 = [1.0, -2.0, 0.5]
DECAY = [True, True, False]          # segment "weight" = [0, 2), "bias" = [2, 3)
WD, EPS, B1, B2 = 0.01, 1e-6, 0.9, 0.999


def clip(g, max_norm=1.0):
    norm = math.sqrt(sum(x * x for x in g))
    return [x * max_norm / max(norm, max_norm) for x in g]


def google(steps):
    """steps: list of (lr, grads)."""
    p, m, v = list(P0), [0.0] * 3, [0.0] * 3
    for lr, g in steps:
        g = clip(g)
        for i in range(3):
            m[i] = B1 * m[i] + (1 - B1) * g[i]
            v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i]
            u = m[i] / (math.sqrt(v[i]) + EPS)
            if DECAY[i]:
                u += WD * p[i]
            p[i] -= lr * u
    return p, m, v


def torch_adamw(steps):
    w = torch.tensor(P0[:2], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(P0[2:], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": WD},
                             {"params": [b], "weight_decay": 0.0}],
                            lr=0.0, betas=(B1, B2), eps=EPS)
    for lr, g in steps:
        g = clip(g)
        w.grad = torch.tensor(g[:2], dtype=torch.float64)
        b.grad = torch.tensor(g[2:], dtype=torch.float64)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    st_w, st_b = opt.state[w], opt.state[b]
    p = w.tolist() + b.tolist()
    m = st_w["exp_avg"].tolist() + st_b["exp_avg"].tolist()
    v = st_w["exp_avg_sq"].tolist() + st_b["exp_avg_sq"].tolist()
    return p, m, v


G1 = [0.2, -0.4, 0.4]         # norm 0.6: clipping inactive
G1_BIG = [1.0, -2.0, 2.0]     # norm 3: clipped to [1/3, -2/3, 2/3]
G2 = [-0.1, 0.3, 0.2]         # norm sqrt(0.14): inactive
cases = {
    "google, one step": google([(0.1, G1)]),
    "google, one step, clipped": google([(0.1, G1_BIG)]),
    "google, two steps": google([(0.1, G1), (0.05, G2)]),
    "torch, one step": torch_adamw([(0.1, G1)]),
    "torch, one step, clipped": torch_adamw([(0.1, G1_BIG)]),
    "torch, two steps": torch_adamw([(0.1, G1), (0.05, G2)]),
}
for name, (p, m, v) in cases.items():
    print(name)
    for label, xs in (("p", p), ("m", m), ("v", v)):
        print("  %s = { %s }" % (label, ", ".join("%.17g" % x for x in xs)))
