#include "trainer/data/dataset_cache.h"

#include <ATen/ATen.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/data/hash.h"

namespace nasforge::trainer {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'N', 'S', 'F', 'G', 'D', 'A', 'T', 'A'};
constexpr size_t kHeaderSize = 32;  // magic, version, reserved, payload size, checksum

std::string hex(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// --- serialisation -------------------------------------------------------------------------

class Writer {
 public:
  void u64(std::uint64_t v) { raw(&v, sizeof(v)); }
  void i64(std::int64_t v) { raw(&v, sizeof(v)); }
  void str(const std::string& s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void strings(const std::vector<std::string>& list) {
    u64(list.size());
    for (const auto& s : list) str(s);
  }
  void tensor(const at::Tensor& t) {
    const auto c = t.contiguous();
    u64(static_cast<std::uint64_t>(c.scalar_type()));
    u64(static_cast<std::uint64_t>(c.dim()));
    for (auto d : c.sizes()) i64(d);
    raw(c.data_ptr(), c.nbytes());
  }
  void raw(const void* p, size_t n) { bytes.append(static_cast<const char*>(p), n); }
  std::string bytes;
};

struct Corrupt {
  std::string what;
};

class Reader {
 public:
  Reader(const char* data, size_t size) : data_(data), size_(size) {}
  std::uint64_t u64() {
    std::uint64_t v;
    raw(&v, sizeof(v));
    return v;
  }
  std::int64_t i64() {
    std::int64_t v;
    raw(&v, sizeof(v));
    return v;
  }
  std::string str() {
    const auto n = count();
    std::string s(n, '\0');
    raw(s.data(), n);
    return s;
  }
  std::vector<std::string> strings() {
    std::vector<std::string> list(count());
    for (auto& s : list) s = str();
    return list;
  }
  at::Tensor tensor() {
    const auto type = u64();
    if (type != static_cast<std::uint64_t>(at::kByte) &&
        type != static_cast<std::uint64_t>(at::kLong)) {
      throw Corrupt{"unexpected tensor type"};
    }
    const auto rank = u64();
    if (rank > 8) throw Corrupt{"unexpected tensor rank"};
    std::vector<std::int64_t> dims(rank);
    for (auto& d : dims) {
      d = i64();
      if (d < 0) throw Corrupt{"negative dimension"};
    }
    auto t = at::empty(dims, static_cast<at::ScalarType>(type));
    raw(t.data_ptr(), t.nbytes());
    return t;
  }
  // A count of items of at least one byte each, checked against what is left.
  size_t count() {
    const auto n = u64();
    if (n > size_ - at_) throw Corrupt{"length beyond the end"};
    return static_cast<size_t>(n);
  }
  void raw(void* p, size_t n) {
    if (n > size_ - at_) throw Corrupt{"unexpected end of payload"};
    std::memcpy(p, data_ + at_, n);
    at_ += n;
  }
  bool done() const { return at_ == size_; }

 private:
  const char* data_;
  size_t size_;
  size_t at_ = 0;
};

void write_split(Writer& w, const SourceSplit& split) {
  w.tensor(split.data.images);
  w.tensor(split.data.labels);
  w.strings(split.origins);
  w.str(split.images_file);
  w.str(split.labels_file);
  w.u64(split.positions.size());
  for (auto p : split.positions) w.i64(p);
}

SourceSplit read_split(Reader& r) {
  SourceSplit split;
  split.data.images = r.tensor();
  split.data.labels = r.tensor();
  split.origins = r.strings();
  split.images_file = r.str();
  split.labels_file = r.str();
  split.positions.resize(r.count());
  for (auto& p : split.positions) p = r.i64();
  const auto n = split.data.images.dim() > 0 ? split.data.images.size(0) : -1;
  if (split.data.images.dim() != 4 || split.data.labels.dim() != 1 ||
      split.data.labels.size(0) != n ||
      (!split.origins.empty() && static_cast<std::int64_t>(split.origins.size()) != n)) {
    throw Corrupt{"inconsistent split"};
  }
  return split;
}

std::string payload(const std::string& key, const SourceData& source) {
  Writer w;
  w.str(key);
  w.u64(source.natural_images ? 1 : 0);
  w.strings(source.class_names);
  w.u64(source.skipped.size());
  for (const auto& s : source.skipped) {
    w.str(s.path);
    w.str(s.reason);
  }
  w.u64(source.shapes_found.size());
  for (const auto& [shape, count] : source.shapes_found) {
    w.str(shape);
    w.i64(count);
  }
  w.u64((source.validation ? 1 : 0) | (source.test ? 2 : 0));
  write_split(w, source.train);
  if (source.validation) write_split(w, *source.validation);
  if (source.test) write_split(w, *source.test);
  return std::move(w.bytes);
}

SourceData parse_payload(Reader& r) {
  SourceData source;
  source.natural_images = r.u64() != 0;
  source.class_names = r.strings();
  source.skipped.resize(r.count());
  for (auto& s : source.skipped) {
    s.path = r.str();
    s.reason = r.str();
  }
  const auto shapes = r.count();
  for (size_t i = 0; i < shapes; ++i) {
    auto shape = r.str();
    source.shapes_found[shape] = r.i64();
  }
  const auto present = r.u64();
  source.train = read_split(r);
  if (present & 1) source.validation = read_split(r);
  if (present & 2) source.test = read_split(r);
  if (!r.done()) throw Corrupt{"trailing bytes"};
  return source;
}

// Every file under `root`, sorted: relative path, size, modification and change times (the
// change time moves with a chmod too, which can make a skipped file readable).
nlohmann::json list_files(const fs::path& root) {
  std::vector<nlohmann::json> files;
  const auto options = fs::directory_options::skip_permission_denied;
  for (auto it = fs::recursive_directory_iterator(root, options);
       it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto ns = [](const timespec& t) {
      return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
    };
    // Lexical: fs::relative would resolve every path through the file system (realpath).
    files.push_back({it->path().lexically_relative(root).generic_string(),
                     static_cast<std::int64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim)});
  }
  std::sort(files.begin(), files.end(),
            [](const nlohmann::json& a, const nlohmann::json& b) { return a[0] < b[0]; });
  return files;
}

}  // namespace

bool cacheable(const DatasetSpec& spec) { return spec.cache && spec.format == "image-folder"; }

std::string cache_dir(const DatasetSpec& spec) {
  if (!spec.cache_dir.empty()) return spec.cache_dir;
  if (const char* root = std::getenv("NASFORGE_CACHE"); root && *root) {
    return (fs::path(root) / "data").string();
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return (fs::path(home) / ".cache" / "nasforge" / "data").string();
  }
  return (fs::temp_directory_path() / "nasforge-cache" / "data").string();
}

CacheKey cache_key(const DatasetSpec& spec) {
  const auto root = fs::absolute(spec.path).lexically_normal();
  // The identity names the file; the content key inside says whether it is still current.
  const nlohmann::json identity = {{"format", spec.format},
                                   {"path", root.string()},
                                   {"image_size", spec.image_size},
                                   {"channels", spec.channels},
                                   {"label", spec.label},
                                   {"layout", spec.layout},
                                   {"arrays", spec.arrays},
                                   {"train_images", spec.train_images},
                                   {"train_labels", spec.train_labels},
                                   {"test_images", spec.test_images},
                                   {"test_labels", spec.test_labels}};
  auto content = identity;
  content["cache_format"] = kDataCacheVersion;
  content["files"] = list_files(root);
  const auto name = identity.dump();
  CacheKey key;
  key.file = (fs::path(cache_dir(spec)) /
              (spec.format + "-" + hex(detail::hash_bytes(name.data(), name.size())) + ".cache"))
                 .string();
  key.text = content.dump();
  return key;
}

std::optional<SourceData> read_cache(const std::string& file, const std::string& key) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    log::warn(file + ": cannot read the dataset cache; decoding the source again");
    return std::nullopt;
  }
  // One read of the whole file (a character iterator would take longer than the decoding).
  std::string bytes;
  in.seekg(0, std::ios::end);
  const auto length = in.tellg();
  in.seekg(0, std::ios::beg);
  if (length > 0) {
    bytes.resize(static_cast<size_t>(length));
    in.read(bytes.data(), length);
    bytes.resize(static_cast<size_t>(in.gcount()));
  }
  auto corrupt = [&](const std::string& why) -> std::optional<SourceData> {
    log::warn(file + ": corrupt dataset cache (" + why + "); rebuilding it");
    return std::nullopt;
  };
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    return corrupt("bad magic");
  }
  std::uint32_t version;
  std::uint64_t size, checksum;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&size, bytes.data() + 16, 8);
  std::memcpy(&checksum, bytes.data() + 24, 8);
  if (version != kDataCacheVersion) {
    throw DataError(file + ": dataset cache written by format v" + std::to_string(version) +
                    ", this nasforge reads v" + std::to_string(kDataCacheVersion) + "; delete it");
  }
  if (bytes.size() - kHeaderSize != size) {
    return corrupt(bytes.size() - kHeaderSize < size ? "truncated" : "trailing bytes");
  }
  if (detail::hash_bytes(bytes.data() + kHeaderSize, size) != checksum) {
    return corrupt("checksum mismatch");
  }
  try {
    Reader reader(bytes.data() + kHeaderSize, size);
    if (reader.str() != key) {
      log::info(file + ": the source changed since it was cached; decoding it again");
      return std::nullopt;
    }
    return parse_payload(reader);
  } catch (const Corrupt& c) {
    return corrupt(c.what);
  }
}

void write_cache(const std::string& file, const std::string& key, const SourceData& source) {
  static std::atomic<int> counter{0};
  const auto body = payload(key, source);
  const auto temp = file + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::error_code ec;
  fs::create_directories(fs::path(file).parent_path(), ec);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    std::uint32_t version = kDataCacheVersion, reserved = 0;
    std::uint64_t size = body.size(), checksum = detail::hash_bytes(body.data(), body.size());
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&reserved), 4);
    out.write(reinterpret_cast<const char*>(&size), 8);
    out.write(reinterpret_cast<const char*>(&checksum), 8);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();
    if (!out) {
      out.close();
      fs::remove(temp, ec);
      log::warn(file + ": cannot write the dataset cache; going on without it");
      return;
    }
  }
  fs::rename(temp, file, ec);
  if (ec) {
    fs::remove(temp, ec);
    log::warn(file + ": cannot write the dataset cache (" + ec.message() +
              "); going on without it");
  }
}

}  // namespace nasforge::trainer
