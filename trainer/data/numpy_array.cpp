#include "trainer/data/numpy_array.h"

#include <ATen/ATen.h>
#include <zip.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/errors.h"
#include "trainer/data/gzip_file.h"

namespace nasforge::trainer {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

// The value text after 'key': in the header dict, up to the next top-level comma or brace.
std::string dict_value(const std::string& header, const std::string& key, const std::string& name) {
  const auto at = header.find("'" + key + "'");
  if (at == std::string::npos) {
    throw DataError(name + ": malformed .npy header (no '" + key + "'): " + header);
  }
  auto colon = header.find(':', at);
  if (colon == std::string::npos) throw DataError(name + ": malformed .npy header: " + header);
  size_t begin = header.find_first_not_of(' ', colon + 1);
  size_t end = begin;
  if (header[begin] == '(') {
    end = header.find(')', begin);
    if (end == std::string::npos) throw DataError(name + ": malformed .npy header: " + header);
    return header.substr(begin + 1, end - begin - 1);
  }
  if (header[begin] == '\'' || header[begin] == '"') {
    end = header.find(header[begin], begin + 1);
    if (end == std::string::npos) throw DataError(name + ": malformed .npy header: " + header);
    return header.substr(begin + 1, end - begin - 1);
  }
  end = header.find_first_of(",}", begin);
  return header.substr(begin, end - begin);
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

std::unique_ptr<zip_t, ZipCloser> open_zip(const std::string& path) {
  int error = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(path.c_str(), ZIP_RDONLY, &error));
  if (!archive) {
    zip_error_t e;
    zip_error_init_with_code(&e, error);
    std::string message = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw DataError(path + ": cannot read as an .npz archive (" + message + ")");
  }
  return archive;
}

}  // namespace

std::string NpyArray::dtype_name() const {
  const std::string bits = std::to_string(item_size * 8);
  switch (kind) {
    case 'u':
      return "uint" + bits;
    case 'i':
      return "int" + bits;
    case 'f':
      return "float" + bits;
    case 'b':
      return "bool";
    case 'c':
      return "complex" + bits;
    default:
      return "'" + descr + "'";
  }
}

NpyArray parse_npy(std::vector<std::uint8_t> bytes, const std::string& name) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    throw DataError(name + ": not a .npy file (bad magic string)");
  }
  const int major = bytes[6];
  size_t header_len = 0, header_at = 0;
  if (major == 1) {
    header_len = bytes[8] | (size_t{bytes[9]} << 8);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataError(name + ": truncated .npy header");
    header_len =
        bytes[8] | (size_t{bytes[9]} << 8) | (size_t{bytes[10]} << 16) | (size_t{bytes[11]} << 24);
    header_at = 12;
  } else {
    throw DataError(name + ": .npy format version " + std::to_string(major) +
                    " is not supported (1, 2 or 3)");
  }
  if (bytes.size() < header_at + header_len) throw DataError(name + ": truncated .npy header");
  const std::string header(bytes.begin() + static_cast<std::ptrdiff_t>(header_at),
                           bytes.begin() + static_cast<std::ptrdiff_t>(header_at + header_len));
  NpyArray array;
  array.name = name;
  array.descr = dict_value(header, "descr", name);
  if (array.descr.size() < 3) {
    throw DataError(name + ": dtype '" + array.descr + "' is not supported (a structured array?)");
  }
  array.byte_order = array.descr[0];
  array.kind = array.descr[1];
  try {
    array.item_size = std::stoi(array.descr.substr(2));
  } catch (const std::exception&) {
    throw DataError(name + ": dtype '" + array.descr + "' is not supported");
  }
  if (dict_value(header, "fortran_order", name).find("True") != std::string::npos) {
    throw DataError(name +
                    ": array is stored in Fortran order; save it with "
                    "np.save(path, np.ascontiguousarray(a))");
  }
  const auto shape = dict_value(header, "shape", name);
  std::int64_t count = 1;
  size_t pos = 0;
  while (pos < shape.size()) {
    const auto comma = std::min(shape.find(',', pos), shape.size());
    const auto field = shape.substr(pos, comma - pos);
    if (field.find_first_not_of(' ') != std::string::npos) {
      try {
        array.shape.push_back(std::stoll(field));
      } catch (const std::exception&) {
        throw DataError(name + ": malformed shape in .npy header: (" + shape + ")");
      }
      count *= array.shape.back();
    }
    pos = comma + 1;
  }
  const size_t expected = static_cast<size_t>(count) * static_cast<size_t>(array.item_size);
  const size_t have = bytes.size() - header_at - header_len;
  if (have < expected) {
    throw DataError(name + ": truncated .npy file (" + std::to_string(have) + " of " +
                    std::to_string(expected) + " data bytes for shape " + shape_text(array.shape) +
                    ")");
  }
  if (have > expected) {
    throw DataError(name + ": .npy file longer than its shape " + shape_text(array.shape) +
                    " says (" + std::to_string(have - expected) + " extra bytes)");
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header_at + header_len));
  array.data = std::move(bytes);
  return array;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_gzip_or_plain(path), path); }

std::vector<std::string> npz_members(const std::string& path) {
  auto archive = open_zip(path);
  std::vector<std::string> names;
  const auto n = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    std::string member = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
    if (member.size() > 4 && member.compare(member.size() - 4, 4, ".npy") == 0) {
      member.resize(member.size() - 4);
    }
    names.push_back(member);
  }
  return names;
}

NpyArray read_npz_member(const std::string& path, const std::string& array) {
  auto archive = open_zip(path);
  zip_int64_t index = zip_name_locate(archive.get(), (array + ".npy").c_str(), 0);
  if (index < 0) index = zip_name_locate(archive.get(), array.c_str(), 0);
  const auto name = path + ":" + array;
  if (index < 0) {
    std::string found;
    for (const auto& m : npz_members(path)) found += (found.empty() ? "" : ", ") + m;
    throw DataError(path + ": no array '" + array + "' in the archive (it holds: " + found +
                    "); name the arrays with dataset.train_images, train_labels, test_images "
                    "and test_labels");
  }
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(index), 0, &stat) != 0 ||
      !(stat.valid & ZIP_STAT_SIZE)) {
    throw DataError(name + ": cannot read the archive member's size");
  }
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(
      zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(index), 0), zip_fclose);
  if (!file) {
    throw DataError(name + ": cannot open the archive member (" + zip_strerror(archive.get()) +
                    ")");
  }
  std::vector<std::uint8_t> bytes(stat.size);
  zip_uint64_t done = 0;
  while (done < stat.size) {
    const auto n = zip_fread(file.get(), bytes.data() + done, stat.size - done);
    if (n <= 0) {
      throw DataError(name + ": truncated or corrupt archive member (" +
                      zip_file_strerror(file.get()) + ")");
    }
    done += static_cast<zip_uint64_t>(n);
  }
  return parse_npy(std::move(bytes), name);
}

at::Tensor npy_images(const NpyArray& array, const std::string& layout) {
  if (array.kind != 'u' || array.item_size != 1) {
    throw DataError(array.name + ": images have dtype " + array.dtype_name() + " ('" + array.descr +
                    "'); expected uint8 (convert with (x * 255).round().astype(np.uint8) if "
                    "they are floats in [0, 1])");
  }
  const auto& s = array.shape;
  if (s.size() != 3 && s.size() != 4) {
    throw DataError(array.name + ": images have shape " + shape_text(s) + " (rank " +
                    std::to_string(s.size()) +
                    "); expected (N, H, W), (N, H, W, C) or (N, C, H, W)");
  }
  auto flat = at::empty({static_cast<std::int64_t>(array.data.size())}, at::kByte);
  std::memcpy(flat.data_ptr<std::uint8_t>(), array.data.data(), array.data.size());
  if (s.size() == 3) return flat.view({s[0], 1, s[1], s[2]});
  auto is_channels = [](std::int64_t d) { return d == 1 || d == 3; };
  bool nhwc;
  if (layout == "nhwc") {
    nhwc = true;
  } else if (layout == "nchw") {
    nhwc = false;
  } else if (is_channels(s[3])) {
    nhwc = true;
  } else if (is_channels(s[1])) {
    nhwc = false;
  } else {
    throw DataError(array.name + ": images have shape " + shape_text(s) +
                    ": no channel dimension of 1 or 3 in position 1 (NCHW) or 3 (NHWC); set "
                    "dataset.layout if the layout is meant");
  }
  const auto channels = nhwc ? s[3] : s[1];
  if (!is_channels(channels)) {
    throw DataError(array.name + ": images have " + std::to_string(channels) + " channels (shape " +
                    shape_text(s) + ", layout " + (nhwc ? "NHWC" : "NCHW") + "); expected 1 or 3");
  }
  auto images = flat.view({s[0], s[1], s[2], s[3]});
  return nhwc ? images.permute({0, 3, 1, 2}).contiguous() : images;
}

at::Tensor npy_labels(const NpyArray& array) {
  const auto& s = array.shape;
  if (array.kind != 'i' && array.kind != 'u') {
    throw DataError(array.name + ": labels have dtype " + array.dtype_name() + " ('" + array.descr +
                    "'); expected an integer dtype (int8 .. int64, uint8 .. uint64)");
  }
  if (!(array.item_size == 1 || array.item_size == 2 || array.item_size == 4 ||
        array.item_size == 8)) {
    throw DataError(array.name + ": labels have an unsupported item size " +
                    std::to_string(array.item_size));
  }
  if (!(s.size() == 1 || (s.size() == 2 && s[1] == 1))) {
    throw DataError(array.name + ": labels have shape " + shape_text(s) + " (rank " +
                    std::to_string(s.size()) + "); expected (N,) or (N, 1)");
  }
  const auto n = s[0];
  auto labels = at::empty({n}, at::kLong);
  auto* out = labels.data_ptr<std::int64_t>();
  const bool swap = array.byte_order == '>' && array.item_size > 1;
  const bool is_signed = array.kind == 'i';
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint8_t* p = array.data.data() + i * array.item_size;
    std::uint64_t raw = 0;
    for (int b = 0; b < array.item_size; ++b) {
      const int from = swap ? array.item_size - 1 - b : b;
      raw |= std::uint64_t{p[from]} << (8 * b);
    }
    std::int64_t value;
    if (is_signed && array.item_size < 8 && (raw >> (8 * array.item_size - 1)) & 1) {
      value = static_cast<std::int64_t>(raw | (~std::uint64_t{0} << (8 * array.item_size)));
    } else {
      value = static_cast<std::int64_t>(raw);
    }
    out[i] = value;
  }
  return labels;
}

}  // namespace nasforge::trainer
