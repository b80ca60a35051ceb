#include "trainer/data/image_folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>

#include "common/errors.h"
#include "trainer/data/image_decode.h"
#include "trainer/data/image_resize.h"

namespace nasforge::trainer {
namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 3> kSplitNames = {"train", "val", "test"};
constexpr int kMaxDepth = 32;  // nested folders inside a class folder
constexpr std::int64_t kMaxFileBytes = std::int64_t{1} << 30;  // larger is not an image we want

bool hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

std::string in_quotes(const fs::path& path) { return "'" + path.string() + "'"; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The non-hidden sub-folders of `dir` (symbolic links followed), sorted by name.
std::vector<std::string> sorted_subfolders(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    throw DataError("image folder " + in_quotes(dir) + ": cannot list it (" + ec.message() +
                    "); check that it is readable");
  }
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::error_code status_ec;
    if (!hidden(it->path()) && it->is_directory(status_ec)) {
      names.push_back(it->path().filename().string());
    }
  }
  if (ec) {
    throw DataError("image folder " + in_quotes(dir) + ": cannot list it (" + ec.message() + ")");
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Every candidate file under `dir`, recursively, unsorted. Special files (pipes, sockets,
// devices) and folders that cannot be listed are skipped and reported; a broken link is kept so
// that reading it reports why.
void collect_files(const fs::path& dir, int depth, std::vector<std::string>& files,
                   std::vector<SkippedFile>& skipped) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    if (hidden(path)) continue;
    std::error_code status_ec;
    const fs::file_status status = it->status(status_ec);
    if (fs::is_directory(status)) {
      if (depth >= kMaxDepth) {
        skipped.push_back({path.string(), "folder nested too deep"});
      } else {
        collect_files(path, depth + 1, files, skipped);
      }
    } else if (fs::is_regular_file(status) || status_ec || !fs::exists(status)) {
      files.push_back(path.string());
    } else {
      skipped.push_back({path.string(), "not a regular file"});
    }
  }
  if (ec) skipped.push_back({dir.string(), "cannot list folder: " + ec.message()});
}

struct ClassFolder {
  std::string name;
  fs::path path;
  int split = 0;  // index into kSplitNames
  std::int64_t label = 0;
  std::size_t first_file = 0;  // its files are files[first_file, first_file + file_count)
  std::size_t file_count = 0;
};

struct Layout {
  fs::path root;
  std::array<fs::path, 3> split_roots;  // train, val, test; empty: the split is absent
  std::vector<std::string> classes;
  std::vector<ClassFolder> folders;  // by split, then label
  std::vector<std::string> files;
  std::vector<SkippedFile> skipped;
};

Layout find_layout(const std::string& root_text) {
  Layout layout;
  layout.root = root_text;
  const fs::path& root = layout.root;
  std::error_code ec;
  const fs::file_status status = fs::status(root, ec);
  if (!fs::exists(status)) {
    throw DataError("image folder " + in_quotes(root) +
                    " does not exist: set dataset.path to a folder with one sub-folder per class");
  }
  if (!fs::is_directory(status)) {
    throw DataError("image folder " + in_quotes(root) +
                    " is not a folder: set dataset.path to a folder with one sub-folder per class");
  }

  const std::vector<std::string> top = sorted_subfolders(root);
  std::vector<std::string> split_folders, others;
  for (const auto& name : top) {
    const bool split = std::find_if(kSplitNames.begin(), kSplitNames.end(),
                                    [&](const char* s) { return name == s; }) != kSplitNames.end();
    (split ? split_folders : others).push_back(name);
  }
  if (split_folders.empty()) {
    layout.split_roots[0] = root;
  } else {
    if (!others.empty()) {
      throw DataError("image folder " + in_quotes(root) + " mixes split folders (" +
                      join(split_folders) + ") with other folders (" + join(others) +
                      "): use either root/<class>/ or root/train/<class>/");
    }
    if (!fs::is_directory(root / "train")) {
      std::vector<std::string> named;
      for (const auto& name : split_folders) named.push_back(name + "/");
      throw DataError("image folder " + in_quotes(root) + " has " + join(named) +
                      " but no train/: put the training images in " + in_quotes(root / "train") +
                      "/<class>/");
    }
    for (std::size_t s = 0; s < kSplitNames.size(); ++s) {
      if (fs::is_directory(root / kSplitNames[s])) layout.split_roots[s] = root / kSplitNames[s];
    }
  }

  std::map<std::string, std::int64_t> labels;
  for (std::size_t s = 0; s < kSplitNames.size(); ++s) {
    const fs::path& split_root = layout.split_roots[s];
    if (split_root.empty()) continue;
    const std::vector<std::string> names = sorted_subfolders(split_root);
    if (names.empty()) {
      throw DataError("image folder " + in_quotes(split_root) +
                      " has no class sub-folders: put each class's images in " +
                      in_quotes(split_root) + "/<class>/");
    }
    if (s == 0) {
      if (names.size() == 1) {
        throw DataError("image folder " + in_quotes(split_root) + " has only one class folder ('" +
                        names[0] + "'): a classifier needs at least two classes");
      }
      layout.classes = names;
      for (std::size_t i = 0; i < names.size(); ++i) {
        labels[names[i]] = static_cast<std::int64_t>(i);
      }
    }
    for (const auto& name : names) {
      const auto label = labels.find(name);
      if (label == labels.end()) {
        throw DataError("image folder " + in_quotes(split_root / name) + ": class '" + name +
                        "' in " + kSplitNames[s] + "/ is not among the training classes: " +
                        join(layout.classes) + "; rename or remove it");
      }
      ClassFolder folder;
      folder.name = name;
      folder.path = split_root / name;
      folder.split = static_cast<int>(s);
      folder.label = label->second;
      folder.first_file = layout.files.size();
      std::vector<std::string> files;
      collect_files(folder.path, 0, files, layout.skipped);
      std::sort(files.begin(), files.end());
      folder.file_count = files.size();
      layout.files.insert(layout.files.end(), files.begin(), files.end());
      layout.folders.push_back(std::move(folder));
    }
  }
  return layout;
}

// Reads a whole file; returns the reason it could not, or an empty string.
std::string read_file(const std::string& path, std::vector<std::uint8_t>& bytes) {
  auto os_error = [] { return std::error_code(errno, std::generic_category()).message(); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return "unreadable: " + os_error();
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "unreadable: " + os_error();
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (st.st_size > kMaxFileBytes) return "file too large";
  bytes.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "unreadable: " + os_error();
    if (n == 0) break;  // shrank while we read
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return {};
}

// What decoding one file gave.
struct Outcome {
  std::string error;  // empty: decoded
  int width = 0, height = 0;
  bool gray = false;
  std::string shape;  // "WxH mode"
  int channels = 0;   // planes in `pixels`
  int out_height = 0, out_width = 0;
  std::vector<std::uint8_t> pixels;  // CHW, resized
};

void decode_file(const std::string& path, const ImageFolderOptions& options, ImageDecoder& decoder,
                 Outcome& outcome) {
  std::vector<std::uint8_t> bytes;
  outcome.error = read_file(path, bytes);
  if (!outcome.error.empty()) return;
  DecodeResult decoded = decoder.decode(bytes);
  if (!decoded.ok()) {
    outcome.error = std::move(decoded.error);
    return;
  }
  const DecodedImage& image = decoded.image;
  outcome.width = image.width;
  outcome.height = image.height;
  outcome.gray = image.grayscale();
  outcome.shape =
      std::to_string(image.width) + "x" + std::to_string(image.height) + " " + image.mode;
  // Until every file is seen, the automatic mode keeps gray images gray (1 plane); repeating the
  // plane into RGB later gives the same pixels as converting first, because resizing is per plane.
  outcome.channels = options.channels > 0 ? options.channels : (outcome.gray ? 1 : 3);
  outcome.out_height = options.image_size > 0 ? options.image_size : image.height;
  outcome.out_width = options.image_size > 0 ? options.image_size : image.width;
  std::vector<std::uint8_t> converted;
  const std::uint8_t* source = image.pixels.data();
  if (image.channels != outcome.channels) {
    converted = convert_channels(image, outcome.channels);
    source = converted.data();
  }
  outcome.pixels.resize(static_cast<std::size_t>(outcome.channels) * outcome.out_height *
                        outcome.out_width);
  resize_to_planar(source, image.height, image.width, outcome.channels, outcome.pixels.data(),
                   outcome.out_height, outcome.out_width);
}

std::string size_text(const Outcome& o) {
  return std::to_string(o.width) + "x" + std::to_string(o.height);
}

void check_options(const ImageFolderOptions& options) {
  if (options.image_size < 0) {
    throw DataError("image folder " + in_quotes(options.root) + ": image_size " +
                    std::to_string(options.image_size) +
                    " is negative; set dataset.image_size to the side in pixels to resize to");
  }
  if (options.channels != 0 && options.channels != 1 && options.channels != 3) {
    throw DataError("image folder " + in_quotes(options.root) + ": channels " +
                    std::to_string(options.channels) +
                    " is not supported; set dataset.channels to 1 (gray), 3 (RGB) or 0 (from the "
                    "images)");
  }
}

}  // namespace

std::vector<std::string> image_folder_files(const std::string& root) {
  return find_layout(root).files;
}

SourceData read_image_folder(const ImageFolderOptions& options) {
  check_options(options);
  Layout layout = find_layout(options.root);
  const std::size_t n = layout.files.size();

  // Each worker thread keeps one decoder; every file decodes into its own Outcome, so no lock.
  std::vector<Outcome> outcomes(n);
  tbb::enumerable_thread_specific<ImageDecoder> decoders;
  tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
    decode_file(layout.files[i], options, decoders.local(), outcomes[i]);
  });

  SourceData data;
  data.skipped = std::move(layout.skipped);
  std::size_t readable = 0;
  const Outcome* first = nullptr;  // the first readable image, for the size check
  bool all_gray = true;
  for (std::size_t i = 0; i < n; ++i) {
    const Outcome& o = outcomes[i];
    if (!o.error.empty()) {
      data.skipped.push_back({layout.files[i], o.error});
      continue;
    }
    ++readable;
    ++data.shapes_found[o.shape];
    all_gray = all_gray && o.gray;
    if (options.image_size == 0) {
      if (!first) {
        first = &o;
      } else if (o.width != first->width || o.height != first->height) {
        const std::size_t f = static_cast<std::size_t>(first - outcomes.data());
        throw DataError("image folder " + in_quotes(options.root) + ": " + layout.files[f] +
                        " is " + size_text(*first) + " but " + layout.files[i] + " is " +
                        size_text(o) +
                        "; set dataset.image_size to resize every image to one size");
      }
    }
  }
  if (readable == 0) {
    std::string example;
    if (!data.skipped.empty()) {
      example = " (" + data.skipped.front().path + ": " + data.skipped.front().reason + ")";
    }
    throw DataError("image folder " + in_quotes(options.root) + ": none of its " +
                    std::to_string(n) + " files is a readable PNG or JPEG image" + example +
                    "; put the images in <class>/ sub-folders");
  }
  for (const ClassFolder& folder : layout.folders) {
    const auto begin = outcomes.begin() + static_cast<std::ptrdiff_t>(folder.first_file);
    const auto end = begin + static_cast<std::ptrdiff_t>(folder.file_count);
    if (std::none_of(begin, end, [](const Outcome& o) { return o.error.empty(); })) {
      std::string example;
      if (folder.file_count > 0) {
        example = " (" + layout.files[folder.first_file] + ": " + begin->error + ")";
      }
      throw DataError("class '" + folder.name + "' (" + folder.path.string() +
                      "): no readable image among " + std::to_string(folder.file_count) + " files" +
                      example + "; add PNG or JPEG images or remove the folder");
    }
  }

  const int channels = options.channels > 0 ? options.channels : (all_gray ? 1 : 3);
  data.class_names = layout.classes;
  data.natural_images = channels == 3;
  for (std::size_t s = 0; s < kSplitNames.size(); ++s) {
    if (layout.split_roots[s].empty()) continue;
    // The readable files of this split, in folder (label) order and path order within.
    std::vector<std::size_t> files;
    std::vector<std::int64_t> labels;
    for (const ClassFolder& folder : layout.folders) {
      if (folder.split != static_cast<int>(s)) continue;
      for (std::size_t i = folder.first_file; i < folder.first_file + folder.file_count; ++i) {
        if (!outcomes[i].error.empty()) continue;
        files.push_back(i);
        labels.push_back(folder.label);
      }
    }
    const Outcome& sample = outcomes[files.front()];
    const auto count = static_cast<std::int64_t>(files.size());
    SourceSplit split;
    split.data.images =
        at::empty({count, channels, sample.out_height, sample.out_width}, at::kByte);
    split.data.labels = at::empty({count}, at::kLong);
    std::copy(labels.begin(), labels.end(), split.data.labels.data_ptr<std::int64_t>());
    std::uint8_t* images = split.data.images.data_ptr<std::uint8_t>();
    const std::size_t plane = static_cast<std::size_t>(sample.out_height) * sample.out_width;
    tbb::parallel_for(std::size_t{0}, files.size(), [&](std::size_t k) {
      Outcome& o = outcomes[files[k]];
      std::uint8_t* target = images + k * channels * plane;
      for (int c = 0; c < channels; ++c) {
        // A gray image in an RGB set repeats its one plane.
        const std::uint8_t* from = o.pixels.data() + (o.channels == 1 ? 0 : c) * plane;
        std::memcpy(target + c * plane, from, plane);
      }
      std::vector<std::uint8_t>().swap(o.pixels);
    });
    split.origins.reserve(files.size());
    for (std::size_t i : files) split.origins.push_back(layout.files[i]);
    if (s == 0) {
      data.train = std::move(split);
    } else if (s == 1) {
      data.validation = std::move(split);
    } else {
      data.test = std::move(split);
    }
  }
  return data;
}

}  // namespace nasforge::trainer
