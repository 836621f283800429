#include "runtime/cubin_info.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace fusetune {
namespace {

// Bounds-checked little-endian reads of a byte image.
class Image {
 public:
  explicit Image(const std::vector<char>& bytes) : bytes_(bytes) {}

  template <class T>
  std::optional<T> read(std::uint64_t offset) const {
    if (offset > bytes_.size() || bytes_.size() - offset < sizeof(T)) return std::nullopt;
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof(T));
    return value;
  }

  // The NUL-terminated string at `offset`, if it ends within the image.
  std::optional<std::string_view> string(std::uint64_t offset) const {
    if (offset >= bytes_.size()) return std::nullopt;
    const char* begin = bytes_.data() + offset;
    const void* end = std::memchr(begin, 0, bytes_.size() - offset);
    if (!end) return std::nullopt;
    return std::string_view(begin, static_cast<const char*>(end) - begin);
  }

 private:
  const std::vector<char>& bytes_;
};

struct Section {
  std::uint32_t name = 0, type = 0, link = 0;
  std::uint64_t offset = 0, size = 0;
};

constexpr std::uint32_t kSymbolTable = 2;   // SHT_SYMTAB
constexpr std::uint64_t kSymbolBytes = 24;  // Elf64_Sym
// .nv.info attributes: a format byte, an attribute byte and a 16-bit field; with the format
// "sized value" the field counts the bytes that follow.
constexpr std::uint8_t kSizedValue = 0x04;     // EIFMT_SVAL
constexpr std::uint8_t kRegisterCount = 0x2f;  // EIATTR_REGCOUNT: symbol index, registers

std::optional<Section> section(const Image& image, std::uint64_t table, std::uint16_t entry_bytes,
                               std::uint16_t index) {
  const std::uint64_t at = table + std::uint64_t{index} * entry_bytes;
  const auto name = image.read<std::uint32_t>(at), type = image.read<std::uint32_t>(at + 4),
             link = image.read<std::uint32_t>(at + 40);
  const auto offset = image.read<std::uint64_t>(at + 24), size = image.read<std::uint64_t>(at + 32);
  if (!name || !type || !link || !offset || !size) return std::nullopt;
  return Section{*name, *type, *link, *offset, *size};
}

// The index in `symbols` of the symbol named `entry`.
std::optional<std::uint32_t> symbol_index(const Image& image, const Section& symbols,
                                          const Section& names, std::string_view entry) {
  for (std::uint64_t i = 0; (i + 1) * kSymbolBytes <= symbols.size; ++i) {
    const auto name = image.read<std::uint32_t>(symbols.offset + i * kSymbolBytes);
    if (!name) return std::nullopt;
    if (image.string(names.offset + *name) == entry) return static_cast<std::uint32_t>(i);
  }
  return std::nullopt;
}

std::optional<int> register_count(const Image& image, const Section& info, std::uint32_t symbol) {
  std::uint64_t at = info.offset;
  const std::uint64_t end = info.offset + info.size;
  while (at + 4 <= end) {
    const auto format = image.read<std::uint8_t>(at), attribute = image.read<std::uint8_t>(at + 1);
    const auto field = image.read<std::uint16_t>(at + 2);
    if (!format || !attribute || !field) return std::nullopt;
    const std::uint64_t value = at + 4;
    if (*format == kSizedValue && *attribute == kRegisterCount && *field >= 8) {
      const auto index = image.read<std::uint32_t>(value),
                 count = image.read<std::uint32_t>(value + 4);
      if (!index || !count) return std::nullopt;
      if (*index == symbol) return static_cast<int>(*count);
    }
    at = value + (*format == kSizedValue ? *field : 0);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> cubin_register_count(const std::vector<char>& cubin, std::string_view entry) {
  const Image image(cubin);
  if (cubin.size() < 64 ||
      std::memcmp(cubin.data(),
                  "\x7f"
                  "ELF",
                  4) != 0 ||
      cubin[4] != 2)
    return std::nullopt;  // not a 64-bit ELF
  const auto table = image.read<std::uint64_t>(0x28);
  const auto entry_bytes = image.read<std::uint16_t>(0x3a), count = image.read<std::uint16_t>(0x3c),
             names_index = image.read<std::uint16_t>(0x3e);
  if (!table || !entry_bytes || !count || !names_index || *entry_bytes < 64) return std::nullopt;
  const std::optional<Section> section_names = section(image, *table, *entry_bytes, *names_index);
  if (!section_names) return std::nullopt;
  std::optional<Section> symbols, info;
  for (std::uint16_t i = 0; i < *count; ++i) {
    const std::optional<Section> s = section(image, *table, *entry_bytes, i);
    if (!s) return std::nullopt;
    if (s->type == kSymbolTable) symbols = s;
    if (image.string(section_names->offset + s->name) == ".nv.info") info = s;
  }
  if (!symbols || !info) return std::nullopt;
  const std::optional<Section> symbol_names =
      section(image, *table, *entry_bytes, static_cast<std::uint16_t>(symbols->link));
  if (!symbol_names) return std::nullopt;
  const std::optional<std::uint32_t> symbol = symbol_index(image, *symbols, *symbol_names, entry);
  if (!symbol) return std::nullopt;
  return register_count(image, *info, *symbol);
}

}  // namespace fusetune
