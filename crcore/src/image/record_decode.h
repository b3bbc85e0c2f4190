// Decoding and checking each record's payload into an Image (the per-record rules of
// docs/image-format.md, "Validation"). The reader has already checked the framing, the checksums
// and the order; these functions check the contents, including against the records before them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "image/format.h"
#include "image/image.h"

namespace crcore::image {

// Thrown by the decoders and checks; the reader adds the file and the record to the message.
class RecordInvalid : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Payload = std::span<const std::byte>;

void decode_process(Payload payload, Image& image);
void decode_mm(Payload payload, Image& image);
void decode_sigactions(Payload payload, Image& image);
void decode_rlimits(Payload payload, Image& image);
void decode_thread(Payload payload, Image& image);
void decode_region(Payload payload, Image& image);
void decode_fd(Payload payload, Image& image);
void decode_fd_data(Payload payload, Image& image);
void decode_resource(Payload payload, Image& image);
// A Pages record's header (raw_size from the record header): aligned, sized, inside one region of a
// kind that has pages.
void check_pages_header(const PagesHeader& pages, uint64_t raw_size, const Image& image, bool zero_fill);
// The End record; record_index and offset are its own, pages_bytes what the reader counted.
void decode_end(Payload payload, Image& image, uint64_t record_index, uint64_t offset, uint64_t pages_bytes);

// Rules over the whole image, checked after End: one main thread, distinct tids, every socketpair
// end's peer present and connected back, no page saved twice, pages_saved of every region equal to
// its pages in Pages records.
void check_image(const Image& image);

}  // namespace crcore::image
