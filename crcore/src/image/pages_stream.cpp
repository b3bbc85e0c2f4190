#include "image/pages_stream.h"

#include <algorithm>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "image/byte_shuffle.h"
#include "image/checksum.h"
#include "image/image_error.h"

#if CRCORE_HAVE_ZSTD
#include <zstd.h>
#endif

namespace crcore::image {
namespace {

constexpr size_t kOutputBlock = 1u << 20;
static_assert(kOutputBlock % kShuffleBlock == 0);

// The Pages record of ref (its header is right before the payload).
RecordAt record_of(const PagesRef& ref) {
  return {ref.record_index, static_cast<uint16_t>(RecordKind::Pages), ref.payload_offset - sizeof(RecordHeader)};
}

}  // namespace

#if CRCORE_HAVE_ZSTD
struct PagesStream::Decompressor {
  Decompressor() : context(ZSTD_createDCtx()), output(kOutputBlock), shuffled(kShuffleBlock), unshuffled(kOutputBlock) {
    if (context == nullptr) {
      throw std::bad_alloc();
    }
  }
  ~Decompressor() { ZSTD_freeDCtx(context); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  ZSTD_DCtx* context;
  std::vector<std::byte> output;
  std::vector<std::byte> shuffled;    // kRecordShuffle8: one block as the frame holds it
  std::vector<std::byte> unshuffled;  // and blocks as the pages hold them, delivered when full
};
#else
struct PagesStream::Decompressor {};
#endif

PagesStream::PagesStream(int fd, const std::string& path, uint64_t file_size)
    : path_(path), stream_(fd, path, file_size) {}

PagesStream::~PagesStream() = default;

void PagesStream::deliver(const PagesRef& ref, const PagesFn& fn) {
  stream_.seek(ref.payload_offset);
  PagesHeader pages;
  stream_.read(&pages, sizeof pages);
  if (pages.address != ref.address || pages.length != ref.length) {
    throw image_error(path_, record_of(ref), "the PagesHeader changed since the image was loaded");
  }
  if ((ref.flags & kRecordZstd) != 0) {
    deliver_zstd(ref, fn);
  } else {
    deliver_raw(ref, fn);
  }
}

void PagesStream::deliver_raw(const PagesRef& ref, const PagesFn& fn) {
  PayloadHash hash;
  PagesHeader pages{ref.address, ref.length};
  hash.update(&pages, sizeof pages);
  uint64_t address = ref.address;
  stream_.consume(ref.length, [&](std::span<const std::byte> piece) {
    hash.update(piece.data(), piece.size());
    fn(address, piece);
    address += piece.size();
  });
  if (hash.digest() != ref.payload_hash) {
    throw image_error(path_, record_of(ref), "payload checksum mismatch (the file changed since it was loaded)");
  }
}

#if CRCORE_HAVE_ZSTD

void PagesStream::deliver_zstd(const PagesRef& ref, const PagesFn& fn) {
  RecordAt at = record_of(ref);
  if (!zstd_) {
    zstd_ = std::make_unique<Decompressor>();
  }
  ZSTD_DCtx_reset(zstd_->context, ZSTD_reset_session_only);
  std::vector<std::byte>& out = zstd_->output;

  PayloadHash hash;
  PagesHeader pages{ref.address, ref.length};
  hash.update(&pages, sizeof pages);
  uint64_t address = ref.address;
  uint64_t produced = 0;
  size_t last = 1;  // ZSTD_decompressStream's result: 0 once the frame is complete
  // A byte-shuffled record is gathered a shuffle block at a time, unshuffled, and delivered in pieces
  // of up to kOutputBlock bytes as an unshuffled record is.
  bool shuffled = (ref.flags & kRecordShuffle8) != 0;
  size_t gathered = 0;  // bytes of the current shuffle block
  size_t ready = 0;     // unshuffled bytes not delivered yet
  auto emit = [&](size_t size) {
    if (produced + size > ref.length) {
      throw image_error(path_, at, "the zstd frame holds more than the record's length");
    }
    if (!shuffled) {
      fn(address, std::span<const std::byte>(out.data(), size));
      address += size;
      produced += size;
      return;
    }
    for (const std::byte* from = out.data(); size > 0;) {
      size_t block_length = static_cast<size_t>(std::min<uint64_t>(kShuffleBlock, ref.length - (produced - gathered)));
      size_t take = std::min(size, block_length - gathered);
      std::memcpy(zstd_->shuffled.data() + gathered, from, take);
      from += take;
      size -= take;
      gathered += take;
      produced += take;
      if (gathered == block_length) {
        unshuffle8(zstd_->shuffled.data(), zstd_->unshuffled.data() + ready, block_length);
        ready += block_length;
        gathered = 0;
        if (ready + kShuffleBlock > zstd_->unshuffled.size() || produced == ref.length) {
          fn(address, std::span<const std::byte>(zstd_->unshuffled.data(), ready));
          address += ready;
          ready = 0;
        }
      }
    }
  };
  stream_.consume(ref.stored_size - sizeof(PagesHeader), [&](std::span<const std::byte> piece) {
    hash.update(piece.data(), piece.size());
    ZSTD_inBuffer in{piece.data(), piece.size(), 0};
    while (in.pos < in.size) {
      if (last == 0) {
        throw image_error(path_, at, "data after the end of the zstd frame");
      }
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      last = ZSTD_decompressStream(zstd_->context, &output, &in);
      if (ZSTD_isError(last)) {
        throw image_error(path_, at, fmt::format("zstd: {}", ZSTD_getErrorName(last)));
      }
      if (output.pos > 0) {
        emit(output.pos);
      }
    }
  });
  // What the decoder still holds when the output block was full at the end of the input.
  while (last != 0) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    ZSTD_outBuffer output{out.data(), out.size(), 0};
    last = ZSTD_decompressStream(zstd_->context, &output, &in);
    if (ZSTD_isError(last) || output.pos == 0) {
      break;
    }
    emit(output.pos);
  }
  if (hash.digest() != ref.payload_hash) {
    throw image_error(path_, at, "payload checksum mismatch (the file changed since it was loaded)");
  }
  if (last != 0 || produced != ref.length) {
    throw image_error(path_, at, fmt::format("the zstd frame is incomplete ({} of {} bytes)", produced, ref.length));
  }
}

#else

void PagesStream::deliver_zstd(const PagesRef& ref, const PagesFn&) {
  throw image_error(path_, record_of(ref), "compressed with zstd, but this crcore was built without zstd");
}

#endif

}  // namespace crcore::image
