#include "export/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "common/errors.h"

namespace nasforge::exporter {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; a big-endian host needs byte swapping");

struct DtypeName {
  c10::ScalarType type;
  const char* name;
};

constexpr std::array<DtypeName, 10> kDtypes = {{{c10::kFloat, "F32"},
                                                {c10::kDouble, "F64"},
                                                {c10::kHalf, "F16"},
                                                {c10::kBFloat16, "BF16"},
                                                {c10::kLong, "I64"},
                                                {c10::kInt, "I32"},
                                                {c10::kShort, "I16"},
                                                {c10::kChar, "I8"},
                                                {c10::kByte, "U8"},
                                                {c10::kBool, "BOOL"}}};

c10::ScalarType dtype_from_name(const std::string& name, const std::string& where) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return d.type;
  }
  throw DataError(where + ": unsupported dtype '" + name + "'");
}

SafetensorsFile read_entries(std::ifstream& in, const std::string& path,
                             const nlohmann::json& header, std::uint64_t data_size,
                             std::uint64_t data_start) {
  SafetensorsFile file;
  std::vector<std::pair<std::uint64_t, std::pair<std::string, nlohmann::json>>> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      for (const auto& [key, value] : info.items()) {
        if (!value.is_string()) throw DataError(path + ": __metadata__ values must be strings");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    entries.push_back({info.at("data_offsets").at(0).get<std::uint64_t>(), {name, info}});
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::uint64_t expected = 0;
  for (const auto& [begin, entry] : entries) {
    const auto& [name, info] = entry;
    const std::string where = path + ": tensor '" + name + "'";
    const auto type = dtype_from_name(info.at("dtype").get<std::string>(), where);
    const auto shape = info.at("shape").get<std::vector<std::int64_t>>();
    const auto end = info.at("data_offsets").at(1).get<std::uint64_t>();
    // The size the shape implies, checked before anything is allocated.
    std::uint64_t bytes = c10::elementSize(type);
    for (const auto d : shape) {
      if (d < 0 || (d > 0 && bytes > data_size / static_cast<std::uint64_t>(d) + 1)) {
        throw DataError(where + ": shape does not fit the file");
      }
      bytes *= static_cast<std::uint64_t>(d);
    }
    if (begin != expected || end < begin || end > data_size || end - begin != bytes) {
      throw DataError(where + ": data_offsets [" + std::to_string(begin) + ", " +
                      std::to_string(end) + "] do not fit its shape, its neighbours or the file");
    }
    auto tensor = at::empty(shape, at::TensorOptions().dtype(type));
    in.seekg(static_cast<std::streamoff>(data_start + begin));
    in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(end - begin));
    if (!in) throw DataError(where + ": truncated data");
    expected = end;
    file.tensors.emplace_back(name, std::move(tensor));
  }
  if (expected != data_size) {
    throw DataError(path + ": " + std::to_string(data_size - expected) +
                    " bytes after the last tensor; not a safetensors file");
  }
  return file;
}

}  // namespace

NamedTensors module_state(const torch::nn::Module& module) {
  NamedTensors state;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    state.emplace_back(item.key(), item.value());
  }
  return state;
}

std::string safetensors_dtype(c10::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (type == d.type) return d.name;
  }
  throw InternalError(std::string("safetensors: no dtype for ") + c10::toString(type));
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  std::set<std::string> names;
  std::int64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || !names.insert(name).second) {
      throw InternalError("safetensors: tensor name '" + name + "' repeated or reserved");
    }
    auto cpu = tensor.detach().to(at::kCPU).contiguous();
    const auto bytes = static_cast<std::int64_t>(cpu.nbytes());
    header[name] = {{"dtype", safetensors_dtype(cpu.scalar_type())},
                    {"shape", cpu.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(cpu));
  }
  // nlohmann orders the keys alphabetically; the data follows the caller's order, which the
  // offsets describe (readers look tensors up by name).
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw DataError(path + ": cannot create the file; check the folder's permissions");
    const std::uint64_t length = text.size();
    out.write(reinterpret_cast<const char*>(&length), sizeof(length));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data) {
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    }
    out.flush();
    if (!out) throw DataError(path + ": write failed (disk full?)");
  }
  std::filesystem::rename(tmp, path);
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open the safetensors file");
  std::uint64_t length = 0;
  in.read(reinterpret_cast<char*>(&length), sizeof(length));
  const auto file_size = std::filesystem::file_size(path);
  if (!in || length > file_size - sizeof(length)) {
    throw DataError(path + ": truncated safetensors file (no complete header)");
  }
  std::string text(length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(length));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    throw DataError(path + ": malformed safetensors header (not JSON)");
  }
  if (!header.is_object()) throw DataError(path + ": malformed safetensors header");
  try {
    return read_entries(in, path, header, file_size - sizeof(length) - length,
                        sizeof(length) + length);
  } catch (const nlohmann::json::exception&) {
    throw DataError(path +
                    ": malformed safetensors header (a tensor entry lacks dtype, shape or "
                    "data_offsets)");
  }
}

}  // namespace nasforge::exporter
