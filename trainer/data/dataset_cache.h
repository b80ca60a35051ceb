#pragma once
// The decoded uint8 tensors of a source, written once to a cache file and reused by later
// trials, runs and `resume`, so that a folder of JPEGs is decoded once, not per run.
//
// A cache file is named by the source's identity (format, absolute path, decode settings) and
// holds the source's content key: every input file's relative path, size, modification and
// change times. A different content key (a file added, removed, changed or re-permissioned)
// means stale: the file is rebuilt in place. A corrupt file (bad magic, truncated, checksum
// mismatch over the payload) is rebuilt with a warning, never trusted. A file written by another
// cache format version is refused (DataError): delete it. Files are written atomically (a
// temporary file renamed into place), so a crash never leaves half a cache.
#include <cstdint>
#include <optional>
#include <string>

#include "trainer/data/source.h"

namespace nasforge::trainer {

inline constexpr std::uint32_t kDataCacheVersion = 1;

struct CacheKey {
  std::string file;  // full path of the cache file
  std::string text;  // the content key stored in it (JSON)
};

// Whether load_source caches this source: spec.cache is on and decoding costs something
// (image folders; array formats read as fast as their cache would).
bool cacheable(const DatasetSpec& spec);
// spec.cache_dir, or $NASFORGE_CACHE/data, or ~/.cache/nasforge/data.
std::string cache_dir(const DatasetSpec& spec);
// The cache file and content key of a source; lists the files under spec.path.
CacheKey cache_key(const DatasetSpec& spec);

// The cached source, or nothing when the file is missing, stale (another content key) or
// corrupt (then with a log::warn naming it). DataError when another cache format version wrote
// it.
std::optional<SourceData> read_cache(const std::string& file, const std::string& key);
// Writes atomically; a failure to write is a warning (the run goes on without a cache).
void write_cache(const std::string& file, const std::string& key, const SourceData& source);

}  // namespace nasforge::trainer
