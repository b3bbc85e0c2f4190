// Images that are intact (every checksum right) but describe something impossible are refused:
// bad regions, pages outside regions, wrong counts, records out of order, End records that lie.
#include <cstring>
#include <functional>
#include <stdexcept>

#include <gtest/gtest.h>

#include "image/image_reader.h"
#include "test_image.h"

namespace crcore::image::testing {
namespace {

std::string load_error(const Bytes& bytes) {
  TempDir dir;
  std::string path = dir.file("image.ctx");
  write_file(path, bytes);
  try {
    ImageReader reader(path);
    reader.load();
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

// Changes the spec, finishes it (counts and pages_saved derived) unless told not to, and loads it.
std::string error_after(const std::function<void(ImageSpec&)>& change, bool finish = true) {
  ImageSpec spec = small_spec();
  change(spec);
  if (finish) {
    spec.finish();
  }
  return load_error(assemble(spec.header, raw_records(spec)));
}

// Same, on the record list.
std::string error_after_records(const std::function<void(std::vector<RawRecord>&)>& change) {
  ImageSpec spec = small_spec();
  std::vector<RawRecord> records = raw_records(spec);
  change(records);
  return load_error(assemble(spec.header, records));
}

#define EXPECT_ERROR(error, text) EXPECT_NE((error).find(text), std::string::npos) << "error: " << (error)

RegionRecord& heap(ImageSpec& spec) { return spec.regions[1].first; }

TEST(Validation, TheSmallImageIsValid) {
  EXPECT_EQ(error_after([](ImageSpec&) {}), "");
}

TEST(Regions, Overlapping) {
  std::string error = error_after([](ImageSpec& s) { heap(s).start = 0x401000; });
  EXPECT_ERROR(error, "record 7 (Region)");
  EXPECT_ERROR(error, "overlaps the previous region 400000-402000");
}

TEST(Regions, Unsorted) {
  std::string error = error_after([](ImageSpec& s) { std::swap(s.regions[0], s.regions[1]); });
  EXPECT_ERROR(error, "is not sorted after the previous region");
}

TEST(Regions, Unaligned) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { heap(s).end = 0x603ff0; }), "not page-aligned");
  EXPECT_ERROR(error_after([](ImageSpec& s) { heap(s).start = 0x600010; }), "not page-aligned");
}

TEST(Regions, EmptyOrInverted) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { heap(s).end = heap(s).start; }), "empty or inverted");
}

TEST(Regions, AboveTheUserAddressLimit) {
  std::string error = error_after([](ImageSpec& s) {
    s.regions[3].first.start = kUserAddressLimit;
    s.regions[3].first.end = kUserAddressLimit + 0x2000;
    s.pages.pop_back();
  });
  EXPECT_ERROR(error, "above the user address limit");
}

TEST(Regions, OverlappingTheVdso) {
  std::string error = error_after([](ImageSpec& s) {
    s.regions.push_back({RegionRecord{0x7ffd10005000, 0x7ffd10007000, 0, 0, 0, 0, 0,
                                      static_cast<uint32_t>(RegionKind::AnonPrivate), kProtRead, 0, 0},
                         ""});
  });
  EXPECT_ERROR(error, "overlaps the recorded vdso at 7ffd10004000-7ffd10006000");
}

TEST(Regions, UnknownKindOrProt) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { heap(s).kind = 42; }), "unknown kind 42");
  EXPECT_ERROR(error_after([](ImageSpec& s) { heap(s).prot = 8; }), "unknown prot bits");
}

TEST(Regions, Advice) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { heap(s).flags = 1u << 7; }), "unknown prot bits 0x3 or flags 0x80");
  EXPECT_ERROR(error_after([](ImageSpec& s) { heap(s).flags = kRegionHugePage | kRegionNoHugePage; }),
               "advised both huge pages and no huge pages");
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.regions[0].first.flags = kRegionWipeOnFork; }),
               "cannot be wiped on fork");
  // Every advice a region can have is accepted.
  EXPECT_EQ(error_after([](ImageSpec& s) { heap(s).flags = kRegionAdvice & ~kRegionNoHugePage; }), "");
}

TEST(Regions, PathLengthMustMatch) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.regions[0].first.path_len = 3; }, false), "path_len 3");
}

TEST(Regions, PagesSavedMustMatchThePagesRecords) {
  std::string fewer = error_after([](ImageSpec& s) { heap(s).pages_saved = 1; }, false);
  EXPECT_ERROR(fewer, "claims 1 saved pages but the Pages records hold 2");
  std::string more = error_after([](ImageSpec& s) { heap(s).pages_saved = 9; }, false);
  EXPECT_ERROR(more, "claims 9 saved pages but has 4");
}

TEST(Pages, OutsideEveryRegion) {
  std::string error = error_after([](ImageSpec& s) { s.pages[0].address = 0x500000; });
  EXPECT_ERROR(error, "(Pages)");
  EXPECT_ERROR(error, "pages 500000-501000 are not inside one region");
}

TEST(Pages, CrossingTheEndOfARegion) {
  std::string error = error_after([](ImageSpec& s) {
    s.pages[1].address = 0x603000;  // two pages from 0x603000 cross the heap's end at 0x604000
    s.pages[1].bytes.resize(2 * 4096);
  });
  EXPECT_ERROR(error, "pages 603000-605000 are not inside one region");
}

TEST(Pages, InAFileSharedRegion) {
  std::string error = error_after(
      [](ImageSpec& s) {
        s.pages[0].address = 0x7f0000000000;
        s.finish();
        s.regions[2].first.pages_saved = 0;  // as a region record it claims nothing
      },
      false);
  EXPECT_ERROR(error, "which is file-shared and has no pages");
}

TEST(Pages, Unaligned) {
  std::string error = error_after_records([](std::vector<RawRecord>& records) {
    PagesHeader h{0x600800, 4096};
    std::memcpy(records[records.size() - 3].payload.data(), &h, sizeof h);
  });
  EXPECT_ERROR(error, "are not whole pages");
}

TEST(Pages, SavedTwice) {
  std::string error = error_after([](ImageSpec& s) { s.pages.push_back(s.pages[0]); }, false);
  EXPECT_ERROR(error, "pages at 600000 are saved twice");
}

TEST(Threads, FewerThanCounted) {
  std::string error = error_after([](ImageSpec& s) { s.threads.pop_back(); }, false);
  EXPECT_ERROR(error, "Region record before all 2 Thread records (found 1)");
}

TEST(Threads, MoreThanCounted) {
  std::string error = error_after([](ImageSpec& s) { s.threads.push_back(s.threads[1]); }, false);
  EXPECT_ERROR(error, "more Thread records than the 2 the ProcessRecord counts");
}

TEST(Threads, ExactlyOneMain) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.threads[1].flags = kThreadMain; }),
               "2 threads are marked main; exactly one must be");
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.threads[0].flags = 0; }), "0 threads are marked main");
}

TEST(Threads, DistinctTids) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.threads[1].tid = s.threads[0].tid; }), "thread 4242 appears twice");
}

TEST(Fds, DuplicateOrOutOfRange) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.fds[2].first.fd = 3; }), "fd 3 appears twice");
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.fds[2].first.fd = -1; }), "fd -1 is outside");
}

TEST(Fds, DataForAnUnknownPipe) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.fd_data[0].first = 1234; }),
               "inode 1234 is not a pipe or socketpair end of any Fd record");
}

// The socketpairs of small_spec(): fds 5, 6 (stream, inodes 9100, 9101) and 7, 8 (dgram, 9200, 9201).
FdRecord& socket_fd(ImageSpec& spec, int32_t fd) {
  for (auto& [f, path] : spec.fds) {
    if (f.fd == fd) {
      return f;
    }
  }
  throw std::runtime_error("no such fd");
}

TEST(Sockets, PeerMustBeInTheImage) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 5).peer_inode = 9999; }),
               "fd 5 (unix-pair, inode 9100): its peer inode 9999 is not a unix-pair descriptor of the image");
  // The peer's descriptor is missing altogether.
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.fds.pop_back(); }),
               "fd 7 (unix-pair, inode 9200): its peer inode 9201 is not a unix-pair descriptor of the image");
  // A pipe with the peer's inode is no peer.
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 5).peer_inode = 9001; }),
               "its peer inode 9001 is not a unix-pair descriptor");
}

TEST(Sockets, PeerMustBeConnectedBack) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 8).peer_inode = 9100; }),
               "fd 7 (unix-pair, inode 9200): its peer fd 8 (inode 9201) is connected to inode 9100 instead");
}

TEST(Sockets, BothEndsOfOneType) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 5).socket_type = kSocketSeqpacket; }),
               "fd 5 (unix-pair, inode 9100) is seqpacket but its peer fd 6 is stream");
}

TEST(Sockets, FieldsAreChecked) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 5).socket_type = 3; }), "record 13 (Fd) at offset");
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 5).socket_type = 3; }),
               "fd 5 (unix-pair) has unknown socket type 3");
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 6).shutdown = 4; }),
               "fd 6 (unix-pair) has unknown shutdown bits 0x4");
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 6).peer_inode = 0; }),
               "fd 6 (unix-pair, inode 9101) has no peer (peer_inode 0)");
  EXPECT_ERROR(error_after([](ImageSpec& s) { socket_fd(s, 6).peer_inode = 9101; }), "has no peer");
  // Socket fields belong to unix-pair ends only.
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.fds[1].first.peer_inode = 9100; }),
               "fd 3 (pipe-read) has socket fields set but is not a unix-pair");
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.fds[0].first.receive_buffer = 1; }),
               "fd 0 (tty) has socket fields set");
}

TEST(Sockets, DescriptorsOfOneSocketAgree) {
  // fd 9 is a dup of fd 5: fine when alike, refused when it names another peer.
  EXPECT_EQ(error_after([](ImageSpec& s) {
              FdRecord dup = socket_fd(s, 5);
              dup.fd = 9;
              s.fds.push_back({dup, "socket:[9100]"});
            }),
            "");
  EXPECT_ERROR(error_after([](ImageSpec& s) {
                 FdRecord dup = socket_fd(s, 5);
                 dup.fd = 9;
                 dup.peer_inode = 9201;
                 s.fds.push_back({dup, "socket:[9100]"});
               }),
               "fd 5 and fd 9 share inode 9100 but describe it differently");
}

TEST(Sockets, DataOnlyForPipesAndSocketpairEnds) {
  // A socket crcore does not restore has no data.
  EXPECT_ERROR(error_after([](ImageSpec& s) {
                 FdRecord& f = socket_fd(s, 6);
                 f.kind = static_cast<uint32_t>(FdKind::Socket);
                 f.peer_inode = 0;
                 f.socket_type = f.shutdown = f.send_buffer = f.receive_buffer = 0;
               }),
               "inode 9101 is not a pipe or socketpair end of any Fd record");
}

TEST(Sockets, MessageFraming) {
  // The last message claims one byte more than is left.
  EXPECT_ERROR(error_after([](ImageSpec& s) {
                 Bytes& data = s.fd_data[2].second;
                 FdMessageHeader h{14};
                 std::memcpy(data.data() + data.size() - 13 - sizeof h, &h, sizeof h);
               }),
               "message 2 of inode 9200: length 14 runs past the end of the data (13 bytes left)");
  // Bytes left over that cannot hold a length.
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.fd_data[2].second.resize(s.fd_data[2].second.size() + 2); }),
               "message 3 of inode 9200: its length is cut off (2 bytes left)");
  // No messages at all is fine, and a stream's bytes are not framed.
  EXPECT_EQ(error_after([](ImageSpec& s) {
              s.fd_data[2].second.clear();
              s.fd_data[1].second.resize(3);
            }),
            "");
}

TEST(Sockets, ASecondRecordForOneEnd) {
  EXPECT_ERROR(error_after([](ImageSpec& s) {
                 s.fd_data.push_back({9200, framed_messages({"x"})});
               }),
               "inode 9200 has a second FdData record");
}

TEST(Order, ProcessFirst) {
  std::string error = error_after_records([](std::vector<RawRecord>& r) { std::swap(r[0], r[1]); });
  EXPECT_ERROR(error, "record 0 (Mm) at offset 72: the first record must be Process");
}

TEST(Order, SingletonsCannotBeSkipped) {
  std::string error = error_after_records([](std::vector<RawRecord>& r) { r.erase(r.begin() + 3); });
  EXPECT_ERROR(error, "record 3 (Thread)");
  EXPECT_ERROR(error, "Thread record before the Rlimits record");
}

TEST(Order, NoSecondSingleton) {
  std::string error = error_after_records([](std::vector<RawRecord>& r) { r.insert(r.begin() + 2, r[1]); });
  EXPECT_ERROR(error, "a second Mm record");
}

TEST(Order, NoGoingBack) {
  // Swap the last Fd and the FdData record: Fd after FdData.
  std::string error = error_after_records([](std::vector<RawRecord>& r) {
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (r[i].kind == RecordKind::Fd && r[i + 1].kind == RecordKind::FdData) {
        RawRecord fd = r[i];
        r[i] = r[i + 1];
        r[i + 1] = fd;
        break;
      }
    }
  });
  EXPECT_ERROR(error, "before all 7 Fd records (found 6)");
}

TEST(Order, PagesAfterPagesAndFdDataAreOptional) {
  EXPECT_EQ(error_after([](ImageSpec& s) {
              s.fd_data.clear();
              s.pages.clear();
            }),
            "");
}

TEST(End, CountsMustMatch) {
  ImageSpec spec = small_spec();
  std::vector<RawRecord> records = raw_records(spec);
  Bytes good = assemble(spec.header, records);
  size_t end_offset = good.size() - sizeof(RecordHeader) - sizeof(EndRecord);
  for (int field = 0; field < 3; ++field) {
    Bytes bytes = assemble(spec.header, records, false);
    EndRecord end{records.size(), 3 * 4096, end_offset};
    (field == 0 ? end.record_count : field == 1 ? end.pages_bytes : end.file_bytes) += 1;
    Bytes framed = record_bytes(RecordKind::End, as_bytes(end));
    bytes.insert(bytes.end(), framed.begin(), framed.end());
    std::string error = load_error(bytes);
    EXPECT_ERROR(error, "(End)");
    EXPECT_ERROR(error, field == 0 ? "record_count" : field == 1 ? "pages_bytes" : "file_bytes");
  }
}

TEST(End, BeforeEverySection) {
  std::string error = error_after_records([](std::vector<RawRecord>& r) { r.resize(5); });
  EXPECT_ERROR(error, "End record before all 2 Thread records (found 1)");
}

TEST(Process, StringLengthsMustMatch) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.process.kernel_len += 1; }, false), "string lengths add up to");
}

TEST(Mm, SpecialMapsMustBeSane) {
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.mm.special[0].kind = 9; }), "unknown kind 9");
  EXPECT_ERROR(error_after([](ImageSpec& s) { s.mm.special_count = 5; }), "special_count 5");
}

}  // namespace
}  // namespace crcore::image::testing
