"""Eager PyTorch baseline for bench/trainer_throughput.

Builds the same network as space/modules/block_network.cpp from the architecture JSON that the
C++ benchmark writes (stem conv3x3+BN+ReLU; basic, bottleneck and dense stages; global average
pooling; linear head) and times the same training step: uint8 data resident on the device,
normalisation, random crop and flip on the device, autocast, fp16 loss scaling, SGD with Nesterov
momentum and weight decay, loss and accuracy summed on the device.

Prints one line: RESULT {"params": ..., "images_per_second": ...}
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, kernel, stride=1):
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)


class Projection(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = conv(cin, cout, 1, stride)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, kernel, stride):
        super().__init__()
        self.conv1 = conv(cin, cout, kernel, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv(cout, cout, kernel)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = Projection(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class BottleneckBlock(nn.Module):
    expansion = 4

    def __init__(self, cin, cout, kernel, stride):
        super().__init__()
        mid = max(cout // self.expansion, 4)
        self.conv1 = conv(cin, mid, 1)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = conv(mid, mid, kernel, stride)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = conv(mid, cout, 1)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = Projection(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class DenseStage(nn.Module):
    def __init__(self, cin, depth, growth, cout, kernel, downsample):
        super().__init__()
        self.downsample = downsample
        self.bns = nn.ModuleList()
        self.convs = nn.ModuleList()
        channels = cin
        for _ in range(depth):
            self.bns.append(nn.BatchNorm2d(channels))
            self.convs.append(conv(channels, growth, kernel))
            channels += growth
        self.transition = conv(channels, cout, 1)
        self.transition_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        for bn, c in zip(self.bns, self.convs):
            x = torch.cat([x, c(F.relu(bn(x)))], 1)
        return F.relu(self.transition_bn(self.transition(x)))


class BlockNetwork(nn.Module):
    def __init__(self, spec):
        super().__init__()
        channels = spec["input"]["channels"]
        stem = spec["stem_width"]
        self.stem = conv(channels, stem, 3)
        self.stem_bn = nn.BatchNorm2d(stem)
        channels = stem
        self.layers = nn.ModuleList()
        for s, st in enumerate(spec["stages"]):
            stride = 1 if s == 0 else 2
            if st["block"] == "dense":
                self.layers.append(DenseStage(channels, st["depth"], st["growth_rate"], st["width"],
                                              st["kernel"], stride == 2))
                channels = st["width"]
                continue
            block = BasicBlock if st["block"] == "basic" else BottleneckBlock
            for b in range(st["depth"]):
                self.layers.append(block(channels, st["width"], st["kernel"], stride if b == 0 else 1))
                channels = st["width"]
        self.head = nn.Linear(channels, spec["num_classes"])

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean((2, 3)))


def crop_and_flip(batch, padding, offsets, flips):
    n, c, h, w = batch.shape
    rows = torch.arange(h, device=batch.device).unsqueeze(0) + offsets[:, 0:1]
    cols = torch.arange(w, device=batch.device).unsqueeze(0)
    cols = torch.where(flips.view(n, 1), (w - 1) - cols, cols) + offsets[:, 1:2]
    flat = (rows.unsqueeze(2) * (w + 2 * padding) + cols.unsqueeze(1)).reshape(n, 1, h * w)
    padded = F.pad(batch, (padding,) * 4)
    return padded.reshape(n, c, -1).gather(2, flat.expand(n, c, h * w)).view(n, c, h, w)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True, help="architecture JSON written by trainer_throughput")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--channels-last", type=int, default=0)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--train-size", type=int, default=0, help="images resident (default 8 batches)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--params-only", action="store_true")
    args = p.parse_args()

    with open(args.arch) as f:
        spec = json.load(f)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = BlockNetwork(spec)
    params = sum(t.numel() for t in model.parameters())
    if args.params_only:
        print("RESULT " + json.dumps({"params": params}), flush=True)
        return

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    precision = args.precision
    if precision == "fp16" and not cuda:
        precision = "bf16"  # as nasforge does: fp16 autocast is a GPU feature
    if cuda:
        torch.backends.cudnn.benchmark = True
    model = model.to(device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)

    inp = spec["input"]
    n = args.train_size or 8 * args.batch
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, inp["channels"], inp["height"], inp["width"]),
                           generator=gen, dtype=torch.uint8).to(device)
    labels = torch.randint(0, spec["num_classes"], (n,), generator=gen).to(device)
    mean = torch.full((1, inp["channels"], 1, 1), 0.5, device=device)
    std = torch.full((1, inp["channels"], 1, 1), 0.25, device=device)
    scale, shift = 1.0 / (255.0 * std), -mean / std
    padding = 4 if inp["height"] >= 32 else 2

    lr0 = 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr0, momentum=0.9, nesterov=True, weight_decay=5e-4)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    total_steps = args.warmup + args.steps
    state = {"pos": n, "step": 0}
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)

    def step():
        nonlocal loss_sum, correct
        if state["pos"] >= n:
            state["pos"] = 0
            order = torch.randperm(n, generator=gen)
            offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=gen)
            flips = torch.rand(n, generator=gen) < 0.5
            if cuda:
                order, offsets, flips = (t.pin_memory().to(device, non_blocking=True)
                                         for t in (order, offsets, flips))
            state["draws"] = (order, offsets, flips)
        order, offsets, flips = state["draws"]
        pos = state["pos"]
        length = min(args.batch, n - pos)
        index = order[pos:pos + length]
        x = torch.addcmul(shift, images.index_select(0, index).float(), scale)
        x = crop_and_flip(x, padding, offsets[pos:pos + length], flips[pos:pos + length])
        x = x.contiguous(memory_format=memory_format)
        y = labels.index_select(0, index)
        lr = 0.5 * lr0 * (1 + math.cos(math.pi * state["step"] / total_steps))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        loss_sum.add_(loss.detach(), alpha=float(length))
        correct.add_(logits.detach().argmax(1).eq(y).sum())
        state["pos"] = pos + length
        state["step"] += 1

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    model.train()
    for _ in range(args.warmup):
        step()
    sync()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    seconds = time.perf_counter() - started
    print("RESULT " + json.dumps({"params": params,
                                  "images_per_second": args.steps * args.batch / seconds}),
          flush=True)


if __name__ == "__main__":
    main()
