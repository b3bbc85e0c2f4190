// Validation proofs (see validation_proof.h): their text form.
#include "image/validation_proof.h"

#include <charconv>

#include <fmt/format.h>

namespace crcore::image {
namespace {

int64_t ns_of(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

template <typename T>
bool parse_decimal(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

bool parse_hex(std::string_view text, uint8_t* out, size_t bytes) {
  if (text.size() != bytes * 2) {
    return false;
  }
  for (size_t i = 0; i < bytes; ++i) {
    auto [end, ec] = std::from_chars(text.data() + 2 * i, text.data() + 2 * i + 2, out[i], 16);
    if (ec != std::errc() || end != text.data() + 2 * i + 2) {
      return false;
    }
  }
  return true;
}

std::optional<ValidatedFile> parse_entry(std::string_view entry) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t colon = entry.find(':', start);
    fields.push_back(entry.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  ValidatedFile v;
  uint8_t hash[8];
  if (fields.size() != 7 || !parse_decimal(fields[0], v.file.dev) || !parse_decimal(fields[1], v.file.ino) ||
      !parse_decimal(fields[2], v.file.size) || !parse_decimal(fields[3], v.file.mtime_ns) ||
      !parse_decimal(fields[4], v.file.ctime_ns) || !parse_hex(fields[5], v.image_id.data(), v.image_id.size()) ||
      !parse_hex(fields[6], hash, sizeof hash)) {
    return std::nullopt;
  }
  for (uint8_t b : hash) {
    v.end_hash = (v.end_hash << 8) | b;
  }
  return v;
}

}  // namespace

FileIdentity FileIdentity::of(const struct stat& st) {
  return FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                      static_cast<uint64_t>(st.st_size), ns_of(st.st_mtim), ns_of(st.st_ctim)};
}

std::string FileIdentity::describe() const {
  return fmt::format("device {} inode {} size {} mtime {} ctime {}", dev, ino, size, mtime_ns, ctime_ns);
}

std::string encode_proof(const ValidationProof& proof) {
  std::string out;
  for (const ValidatedFile& v : proof) {
    if (!out.empty()) {
      out += ',';
    }
    out += fmt::format("{}:{}:{}:{}:{}:", v.file.dev, v.file.ino, v.file.size, v.file.mtime_ns, v.file.ctime_ns);
    for (uint8_t b : v.image_id) {
      out += fmt::format("{:02x}", b);
    }
    out += fmt::format(":{:016x}", v.end_hash);
  }
  return out;
}

std::optional<ValidationProof> parse_proof(std::string_view text) {
  ValidationProof proof;
  if (text.empty()) {
    return proof;
  }
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string_view entry =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::optional<ValidatedFile> v = parse_entry(entry);
    if (!v) {
      return std::nullopt;
    }
    proof.push_back(*v);
    if (comma == std::string_view::npos) {
      return proof;
    }
    start = comma + 1;
  }
}

}  // namespace crcore::image
