"""A preset's convolutions in PyTorch, each timed inside the model (scripts/layer-table.mjs puts them next to foldnet's):
the evaluation forwards (eval mode, no gradients) and the training steps (forward, backward, Adam) of bench-pytorch.py's
preset at batch 100 run under torch.profiler, and each convolution's time is its operator's self CPU time per call,
grouped by input shapes: aten::mkldnn_convolution in the evaluation (forward), aten::convolution_backward in the
training steps (backward: the filter gradient, the input gradient where autograd wants it, no bias in resnet).

Inside the model, not alone: one 16 -> 16 3x3 convolution at 28x28 and batch 100, called alone on fresh tensors,
took ~15.5 ms at 1 thread here (3.0 ms at batch 50), where inside resnet's forward the profiler gives it ~7.9 ms.

    python3 scripts/bench-pytorch-layers.py --model resnet --threads 1 --rounds 10
Prints one JSON line: {"torch": version, "threads": n, "layers": [{"x": [N, C, H, W], "w": [F, C, FH, FW],
"forward_ms", "backward_ms"}, ...]}.
"""
import argparse
import importlib.util
import json
import os

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('bench_pytorch', os.path.join(HERE, 'bench-pytorch.py'))
bench_pytorch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_pytorch)


def per_call_ms(prof, name, shape_of):
    """{(x shape, w shape): ms per call} of the operator `name`, from its self CPU time grouped by input shapes."""
    out = {}
    for e in prof.key_averages(group_by_input_shape=True):
        if e.key == name and e.count > 0:
            out[shape_of(e.input_shapes)] = e.self_cpu_time_total / e.count / 1000
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='resnet')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--rounds', type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = bench_pytorch.preset(a.model)
    x = torch.rand(100, 1, 28, 28)
    t = torch.randint(0, 10, (100,))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    def step():
        loss = F.cross_entropy(net(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    net.train()
    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as train_prof:
        for _ in range(a.rounds):
            step()
    net.eval()
    with torch.no_grad():
        for _ in range(3):
            net(x)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as eval_prof:
            for _ in range(a.rounds):
                net(x)
    # mkldnn_convolution(x, w, ...); convolution_backward(dy, x, w, ...)
    forward = per_call_ms(eval_prof, 'aten::mkldnn_convolution', lambda s: (tuple(s[0]), tuple(s[1])))
    backward = per_call_ms(train_prof, 'aten::convolution_backward', lambda s: (tuple(s[1]), tuple(s[2])))
    layers = [dict(x=list(k[0]), w=list(k[1]), forward_ms=ms, backward_ms=backward.get(k)) for k, ms in forward.items()]
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), layers=layers)))


if __name__ == '__main__':
    main()
