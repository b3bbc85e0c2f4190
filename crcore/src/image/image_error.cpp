#include "image/image_error.h"

#include <fmt/format.h>

#include "image/kind_names.h"

namespace crcore::image {

std::string describe(const RecordAt& at) {
  auto kind = static_cast<RecordKind>(at.kind);
  if (known(kind)) {
    return fmt::format("record {} ({}) at offset {}", at.index, record_kind_name(kind), at.offset);
  }
  return fmt::format("record {} at offset {}", at.index, at.offset);
}

ImageError image_error(const std::string& path, std::string_view message) {
  return ImageError(fmt::format("{}: {}", path, message));
}

ImageError image_error(const std::string& path, const RecordAt& at, std::string_view message) {
  return ImageError(fmt::format("{}: {}: {}", path, describe(at), message));
}

}  // namespace crcore::image
