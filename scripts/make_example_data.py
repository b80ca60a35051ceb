#!/usr/bin/env python3
"""Writes Fashion-MNIST (Debian's dataset-fashion-mnist) in the formats a user brings to nasforge,
so each source kind can be tried on real data from a fresh clone:

  OUT/folder/train/<class>/*.png|*.jpg   image folder, PNG and JPEG, mixed sizes and modes
  OUT/folder/test/<class>/...
  OUT/numpy/fashion.npz                  x_train uint8 NHWC, y_train int64, x_test, y_test
  OUT/cifar100/train.bin, test.bin       CIFAR-100 binary records (coarse, fine, 3x32x32 RGB)

Usage: make_example_data.py OUT [--train N] [--test N]   (needs Pillow; scripts/setup.sh installs it)
The images are Fashion-MNIST's, resized and re-encoded: the point is the formats, not new data.
"""
import argparse
import gzip
import os
import struct
import sys

from PIL import Image

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle-boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def load(src, prefix, limit):
    (n, h, w), pixels = read_idx(os.path.join(src, f"{prefix}-images-idx3-ubyte.gz"))
    (_,), labels = read_idx(os.path.join(src, f"{prefix}-labels-idx1-ubyte.gz"))
    n = min(n, limit)
    images = [Image.frombytes("L", (w, h), pixels[i * h * w:(i + 1) * h * w]) for i in range(n)]
    return images, list(labels[:n])


def write_folder(root, images, labels):
    # Mixed on purpose: PNG gray, PNG RGB, PNG palette, PNG RGBA and JPEG gray/RGB, at 28..44 px.
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = os.path.join(root, CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        size = 28 + 4 * (i % 5)
        im = image.resize((size, size), Image.BILINEAR) if size != 28 else image
        kind = i % 6
        if kind == 0:
            im.save(os.path.join(folder, f"{i:06d}.png"))
        elif kind == 1:
            im.convert("RGB").save(os.path.join(folder, f"{i:06d}.png"))
        elif kind == 2:
            im.convert("P").save(os.path.join(folder, f"{i:06d}.png"))
        elif kind == 3:
            im.convert("RGBA").save(os.path.join(folder, f"{i:06d}.png"))
        elif kind == 4:
            im.save(os.path.join(folder, f"{i:06d}.jpg"), quality=95)
        else:
            im.convert("RGB").save(os.path.join(folder, f"{i:06d}.jpg"), quality=95)


def write_npz(path, train, test):
    import numpy as np
    def arrays(images, labels):
        x = np.stack([np.asarray(im, dtype=np.uint8)[:, :, None] for im in images])  # NHWC
        return x, np.asarray(labels, dtype=np.int64)
    x_train, y_train = arrays(*train)
    x_test, y_test = arrays(*test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def write_cifar100(path, images, labels):
    with open(path, "wb") as f:
        for image, label in zip(images, labels):
            rgb = image.resize((32, 32), Image.BILINEAR).convert("RGB")
            planes = b"".join(band.tobytes() for band in rgb.split())  # CHW, as CIFAR stores it
            f.write(bytes([label // 2, label]) + planes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--src", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--test", type=int, default=1000)
    args = parser.parse_args()
    train = load(args.src, "train", args.train)
    test = load(args.src, "t10k", args.test)
    write_folder(os.path.join(args.out, "folder", "train"), *train)
    write_folder(os.path.join(args.out, "folder", "test"), *test)
    os.makedirs(os.path.join(args.out, "numpy"), exist_ok=True)
    write_npz(os.path.join(args.out, "numpy", "fashion.npz"), train, test)
    os.makedirs(os.path.join(args.out, "cifar100"), exist_ok=True)
    write_cifar100(os.path.join(args.out, "cifar100", "train.bin"), *train)
    write_cifar100(os.path.join(args.out, "cifar100", "test.bin"), *test)
    print(f"wrote {len(train[0])} training and {len(test[0])} test images to {args.out}"
          " (folder/, numpy/fashion.npz, cifar100/)")


if __name__ == "__main__":
    sys.exit(main())
