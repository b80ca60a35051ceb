#include "trainer/data/source_loader.h"

#include <filesystem>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/data/dataset_cache.h"
#include "trainer/data/image_folder.h"
#include "trainer/data/readers.h"

namespace nasforge::trainer {

namespace fs = std::filesystem;

SourceData read_source(const DatasetSpec& spec) {
  if (spec.format == "idx") return read_idx(spec);
  if (spec.format == "cifar10" || spec.format == "cifar100") return read_cifar(spec);
  if (spec.format == "numpy") return read_numpy(spec);
  if (spec.format == "synthetic") return read_synthetic();
  if (spec.format == "image-folder") {
    ImageFolderOptions options;
    options.root = spec.path;
    options.image_size = spec.image_size;
    options.channels = spec.channels;
    return read_image_folder(options);
  }
  throw InternalError("read_source: unknown dataset format '" + spec.format + "'");
}

SourceData load_source(const DatasetSpec& spec, CacheUse* use) {
  if (use) *use = CacheUse::kNone;
  std::error_code ec;
  if (!cacheable(spec) || !fs::is_directory(spec.path, ec)) return read_source(spec);
  CacheKey key;
  try {
    key = cache_key(spec);
  } catch (const fs::filesystem_error& e) {
    log::warn(spec.path + ": cannot list the files for the dataset cache (" + e.what() +
              "); decoding without it");
    return read_source(spec);
  }
  if (auto cached = read_cache(key.file, key.text)) {
    if (use) *use = CacheUse::kHit;
    log::debug(key.file + ": dataset read from the cache");
    return std::move(*cached);
  }
  auto source = read_source(spec);
  write_cache(key.file, key.text, source);
  if (use) *use = CacheUse::kWritten;
  return source;
}

}  // namespace nasforge::trainer
