#pragma once
// Reader and writer of the safetensors format (https://github.com/huggingface/safetensors):
//   [8 bytes: little-endian u64 N][N bytes: JSON header][data buffer]
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data buffer) and may hold "__metadata__", a map of strings to strings.
//
// Files are untrusted input: everything the header says is checked against the file, as the
// reference library does (tensors must tile the data buffer exactly, in offset order, with no gap
// and no overlap), and every violation throws lightpeft::Error naming the file and the tensor key.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "lightpeft/io/state_dict.h"

namespace lightpeft {

// Reads a whole .safetensors file. Returned tensors are contiguous CPU tensors owning their memory.
// If `metadata` is given it receives the "__metadata__" map (cleared when the file has none).
// Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL, and U16 U32 U64 F8_E4M3 F8_E5M2.
StateDict load_safetensors(const std::filesystem::path& path,
                           std::map<std::string, std::string>* metadata = nullptr);

// Parses an in-memory safetensors image; `origin` names it in error messages (a path, "<fuzz>").
// Pure: no I/O, no global state.
StateDict parse_safetensors(const uint8_t* data, size_t size, const std::string& origin,
                            std::map<std::string, std::string>* metadata = nullptr);

// Writes `tensors` atomically (see io/atomic_file.h) in the layout the reference library writes:
// tensors ordered by descending dtype alignment then by name (so every tensor's data is aligned to
// its element size), compact JSON header padded with spaces to a multiple of 8 bytes. Tensors may
// live on any device and have any strides; they are copied to contiguous CPU memory.
// Throws lightpeft::Error for an unsupported dtype or the reserved key "__metadata__".
void save_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// The same bytes as save_safetensors writes, in memory (tests, small blobs).
std::string serialize_safetensors(const StateDict& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace lightpeft
