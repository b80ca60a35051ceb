#pragma once
// A reader per array format. Each returns the source's own splits (train, and test when the
// files exist) and throws DataError naming the file that is missing or malformed.
#include <cstdint>
#include <string>
#include <vector>

#include "trainer/data/source.h"

namespace nasforge::trainer {

// IDX pairs (MNIST, Fashion-MNIST, KMNIST, EMNIST): train-images-idx3-ubyte and
// train-labels-idx1-ubyte (t10k-* for test), each optionally .gz, or the files the spec names.
SourceData read_idx(const DatasetSpec& spec);
// CIFAR-10 (data_batch_1..5.bin, test_batch.bin) or CIFAR-100 (train.bin, test.bin; the fine or
// coarse label) binary versions, in spec.path or its cifar-10-batches-bin / cifar-100-binary.
SourceData read_cifar(const DatasetSpec& spec);
// NumPy: uint8 images (N,H,W), (N,H,W,C) or (N,C,H,W) and integer labels, as .npy files in a
// folder or arrays in one .npz (see trainer/data/numpy_array.h).
SourceData read_numpy(const DatasetSpec& spec);
// make_synthetic's train (1200) and test (300) sets: 1x12x12, 4 classes.
SourceData read_synthetic();

}  // namespace nasforge::trainer
