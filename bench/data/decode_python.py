"""Python side of bench/data: writes the benchmark's image folder, and decodes a folder with PIL
or torchvision.io the way a PyTorch input pipeline would, for data_bench to compare with
nasforge's reader.

  decode_python.py generate --out DIR [--images N] [--classes K] [--min-size 32] [--max-size 64]
                            [--jpeg-fraction 0.8] [--gray-fraction 0.05] [--seed 0]
  decode_python.py decode --folder DIR --library pil|torchvision [--size 32] [--threads 2]
                          [--pool thread|process] [--repeats 5] [--dump FILE]

decode lists the folder (the layout nasforge reads: root/<class>/ or root/train|val|test/<class>/,
hidden names ignored, classes and files sorted), decodes every file to RGB (gray repeated, alpha
dropped), resizes it to size x size with antialiased bilinear, and stacks the set into one uint8
[N, 3, size, size] array, as nasforge does. --threads workers share the files: threads (PIL and
torch release the GIL while decoding and resizing, but the Python around each image holds it) or,
with --pool process, forked worker processes as a DataLoader's num_workers; torch's own intra-op
threads are set to 1 so that the count is the one asked for. One untimed warm-up, then --repeats timed runs.

Prints one line: RESULT {"library": ..., "images": N, "seconds": [...]}
"""
import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def list_folder(root):
    splits = [os.path.join(root, s) for s in ("train", "val", "test")]
    splits = [s for s in splits if os.path.isdir(s)] or [root]

    def subfolders(path):
        return sorted(
            n for n in os.listdir(path) if not n.startswith(".") and os.path.isdir(os.path.join(path, n))
        )

    files = []
    for split in splits:
        for cls in subfolders(split):
            found = []
            for dirpath, dirnames, filenames in os.walk(os.path.join(split, cls), followlinks=True):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                found += [os.path.join(dirpath, f) for f in filenames if not f.startswith(".")]
            files += sorted(found)
    return files


def smooth_image(rng, width, height, gray):
    """A photo-like image: a few random colour blobs, smoothly interpolated, plus sensor noise."""
    import numpy as np
    from PIL import Image

    channels = 1 if gray else 3
    coarse = rng.integers(0, 256, size=(4, 4, channels), dtype=np.uint8)
    mode = "L" if gray else "RGB"
    base = Image.fromarray(coarse[:, :, 0] if gray else coarse, mode).resize((width, height), Image.BICUBIC)
    pixels = np.asarray(base, dtype=np.float32)
    pixels += rng.normal(0.0, 6.0, size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode)


def generate(args):
    import numpy as np

    rng = np.random.default_rng(args.seed)
    for k in range(args.classes):
        os.makedirs(os.path.join(args.out, f"class_{k:02d}"), exist_ok=True)
    for i in range(args.images):
        width, height = (int(v) for v in rng.integers(args.min_size, args.max_size + 1, size=2))
        gray = rng.random() < args.gray_fraction
        jpeg = rng.random() < args.jpeg_fraction
        image = smooth_image(rng, width, height, gray)
        path = os.path.join(args.out, f"class_{i % args.classes:02d}", f"img_{i:05d}")
        if jpeg:
            image.save(path + ".jpg", quality=90)
        else:
            image.save(path + ".png")
    print(f"RESULT {json.dumps({'images': args.images})}")


def decoder(library, size):
    if library == "pil":
        import numpy as np
        from PIL import Image

        def decode(path):
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR))

        def stack(images):
            return np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))

        return decode, stack

    import torch
    from torchvision.io import ImageReadMode, decode_image, read_file
    from torchvision.transforms.v2 import functional as F
    from torchvision.transforms import InterpolationMode

    torch.set_num_threads(1)

    def decode(path):
        image = decode_image(read_file(path), mode=ImageReadMode.RGB)
        return F.resize(image, [size, size], interpolation=InterpolationMode.BILINEAR, antialias=True)

    return decode, lambda images: torch.stack(images).numpy()


_decode_one = None


def _decode_part(part):
    return [_decode_one(f) for f in part]


def decode(args):
    global _decode_one
    _decode_one, stack = decoder(args.library, args.size)
    if args.threads == 1:
        pool = None
    elif args.pool == "process":
        # Worker processes, as a DataLoader with num_workers does: no GIL, but each part's
        # images are pickled back to the parent.
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(args.threads)
    else:
        pool = ThreadPoolExecutor(args.threads)

    def run():
        files = list_folder(args.folder)
        if pool:
            # Contiguous chunks, one task per chunk: per-file tasks would cost more than a
            # 32-pixel decode.
            chunk = max(1, len(files) // (args.threads * 8))
            parts = [files[i : i + chunk] for i in range(0, len(files), chunk)]
            images = [im for part in pool.map(_decode_part, parts) for im in part]
        else:
            images = [_decode_one(f) for f in files]
        return stack(images)

    run()  # warm-up: imports, page cache, allocator
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    if args.dump:
        result.tofile(args.dump)
    if args.pool == "process" and pool:
        pool.close()
    print("RESULT " + json.dumps({"library": args.library, "images": int(result.shape[0]), "seconds": seconds}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", required=True)
    g.add_argument("--images", type=int, default=2000)
    g.add_argument("--classes", type=int, default=10)
    g.add_argument("--min-size", type=int, default=32)
    g.add_argument("--max-size", type=int, default=64)
    g.add_argument("--jpeg-fraction", type=float, default=0.8)
    g.add_argument("--gray-fraction", type=float, default=0.05)
    g.add_argument("--seed", type=int, default=0)
    d = sub.add_parser("decode")
    d.add_argument("--folder", required=True)
    d.add_argument("--library", choices=["pil", "torchvision"], required=True)
    d.add_argument("--size", type=int, default=32)
    d.add_argument("--threads", type=int, default=2)
    d.add_argument("--pool", choices=["thread", "process"], default="thread")
    d.add_argument("--repeats", type=int, default=5)
    d.add_argument("--dump")
    args = parser.parse_args()
    generate(args) if args.command == "generate" else decode(args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
