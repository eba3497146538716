"""One convolution layer's passes in PyTorch, timed as scripts/layer-table.mjs times foldnet's: the forward (no autograd)
and the backward (the gradients of the filters, the input where `dx` is set, the bias where `bias` is set) from a given
dy, each repeated and its median taken. Prints one JSON line: {"torch": version, "threads": n, "layers": [{"forward_ms",
"backward_ms"}, ...]} in the order of the layers given.

    python3 scripts/bench-pytorch-layers.py --threads 1 --rounds 11 --layers '[{"N":100,"C":16,"H":28,"W":28,"F":32,"size":3,"stride":2,"pad":1,"bias":false,"dx":true}]'
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F


def median_ms(f, rounds):
    f()
    f()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def layer_times(layer, rounds):
    g = torch.Generator().manual_seed(1)
    n, c, h, w, f, size = (layer[k] for k in ('N', 'C', 'H', 'W', 'F', 'size'))
    x = torch.randn(n, c, h, w, generator=g)
    wt = torch.randn(f, c, size, size, generator=g)
    b = torch.zeros(f) if layer['bias'] else None
    conv = lambda x_, w_, b_: F.conv2d(x_, w_, b_, stride=layer['stride'], padding=layer['pad'])

    def forward():
        with torch.no_grad():
            conv(x, wt, b)

    xg = x.clone().requires_grad_(layer['dx'])
    wg = wt.clone().requires_grad_(True)
    bg = b.clone().requires_grad_(True) if b is not None else None
    y = conv(xg, wg, bg)
    dy = torch.randn(y.shape, generator=g)
    wanted = [t for t in (xg, wg, bg) if t is not None and t.requires_grad]

    def backward():
        torch.autograd.grad(y, wanted, dy, retain_graph=True)

    return dict(forward_ms=median_ms(forward, rounds), backward_ms=median_ms(backward, rounds))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=11)
    ap.add_argument('--layers', required=True, help='a JSON list of {N, C, H, W, F, size, stride, pad, bias, dx}')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    layers = json.loads(a.layers)
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), layers=[layer_times(l, a.rounds) for l in layers])))


if __name__ == '__main__':
    main()
