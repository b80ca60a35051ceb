#pragma once
// A source by its spec: read_source decodes it with its format's reader; load_source goes
// through the cache (trainer/data/dataset_cache.h) when the source is cacheable. Stable names:
// bench/data times one against the other.
#include "trainer/data/source.h"

namespace nasforge::trainer {

enum class CacheUse {
  kNone,     // not cacheable (or the cache is off): decoded
  kHit,      // read from the cache file
  kWritten,  // decoded, and the cache file written (it was missing, stale or corrupt)
};

SourceData read_source(const DatasetSpec& spec);
SourceData load_source(const DatasetSpec& spec, CacheUse* use = nullptr);

}  // namespace nasforge::trainer
