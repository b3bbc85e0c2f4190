#include "test_image.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

#include "image/checksum.h"
#include "image/record_writer.h"

namespace crcore::image::testing {

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/crcore-image-test.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Bytes random_page(uint32_t seed) {
  std::mt19937 random(seed);
  Bytes page(4096);
  for (auto& b : page) {
    b = static_cast<std::byte>(random());
  }
  return page;
}

Bytes pattern_page(uint8_t value) {
  Bytes page(4096);
  for (size_t i = 0; i < page.size(); ++i) {
    page[i] = static_cast<std::byte>(i % 64 == 0 ? value : 0);
  }
  return page;
}

namespace {

template <size_t N>
void set_name(char (&name)[N], const char* value) {
  std::memset(name, 0, N);
  std::strncpy(name, value, N - 1);
}

RegionRecord region(uint64_t start, uint64_t end, RegionKind kind, uint32_t prot) {
  RegionRecord r{};
  r.start = start;
  r.end = end;
  r.kind = static_cast<uint32_t>(kind);
  r.prot = prot;
  return r;
}

FdRecord fd_record(int32_t fd, FdKind kind, uint64_t inode) {
  FdRecord f{};
  f.fd = fd;
  f.kind = static_cast<uint32_t>(kind);
  f.inode = inode;
  f.offset = -1;
  return f;
}

FdRecord unix_pair_end(int32_t fd, uint64_t inode, uint64_t peer, SocketType type) {
  FdRecord f = fd_record(fd, FdKind::UnixPair, inode);
  f.open_flags = O_RDWR;
  f.mode = 0140777;  // S_IFSOCK
  f.peer_inode = peer;
  f.socket_type = type;
  f.send_buffer = 212992;
  f.receive_buffer = 212992;
  return f;
}

Bytes text_bytes(const std::string& text) {
  Bytes out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

void append(Bytes& out, const void* data, size_t n) {
  const auto* p = static_cast<const std::byte*>(data);
  out.insert(out.end(), p, p + n);
}

}  // namespace

Bytes framed_messages(const std::vector<std::string>& messages) {
  Bytes out;
  for (const std::string& m : messages) {
    FdMessageHeader h{static_cast<uint32_t>(m.size())};
    append(out, &h, sizeof h);
    append(out, m.data(), m.size());
  }
  return out;
}

void ImageSpec::finish() {
  process.thread_count = static_cast<uint32_t>(threads.size());
  process.region_count = static_cast<uint32_t>(regions.size());
  process.fd_count = static_cast<uint32_t>(fds.size());
  process.cwd_len = static_cast<uint32_t>(cwd.size());
  process.exe_len = static_cast<uint32_t>(exe.size());
  process.cmdline_len = static_cast<uint32_t>(cmdline.size());
  process.environ_len = static_cast<uint32_t>(environ_block.size());
  process.hostname_len = static_cast<uint32_t>(hostname.size());
  process.kernel_len = static_cast<uint32_t>(kernel.size());
  for (auto& [r, path] : regions) {
    r.path_len = static_cast<uint32_t>(path.size());
    r.pages_saved = 0;
    for (const PagesSpec& p : pages) {
      if (p.address >= r.start && p.address < r.end) {
        r.pages_saved += p.bytes.size() / 4096;
      }
    }
  }
  for (auto& [f, path] : fds) {
    f.path_len = static_cast<uint32_t>(path.size());
  }
}

FileHeader valid_header() {
  FileHeader h{};
  std::memcpy(h.magic, kFileMagic, sizeof h.magic);
  h.version = kImageVersion;
  h.header_size = sizeof h;
  h.arch = kArchX86_64;
  h.page_size = 4096;
  h.created_ns = 1732540000123456789ull;
  for (int i = 0; i < 16; ++i) {
    h.image_id[i] = static_cast<uint8_t>(0xa0 + i);
  }
  h.header_check = file_header_check(h);
  return h;
}

ImageSpec small_spec() {
  ImageSpec s;
  s.header = valid_header();
  s.process.pid = 4242;
  s.process.ppid = 1;
  s.process.pgid = 4242;
  s.process.sid = 4000;
  s.process.uid = s.process.euid = 1000;
  s.process.gid = s.process.egid = 100;
  s.process.umask = 022;
  s.process.checkpoint_signal = 10;
  s.process.tid_offset = 720;
  s.process.rseq_size = 32;
  s.process.rseq_offset = -192;
  s.process.rseq_signature = 0x53053053;
  s.process.runtime_restart_block = 0x7f0000001800;
  s.process.checkpoint_serial = 3;
  s.cwd = "/home/user/run";
  s.exe = "/usr/bin/app";
  s.cmdline = std::string(
      "app\0--steps\0"
      "100\0",
      16);
  s.environ_block = std::string("HOME=/home/user\0PATH=/usr/bin\0", 30);
  s.hostname = "node01";
  s.kernel = "6.1.0-28-amd64";

  s.mm.start_code = 0x400000;
  s.mm.end_code = 0x402000;
  s.mm.start_brk = 0x600000;
  s.mm.brk = 0x604000;
  s.mm.start_stack = 0x7ffd00001f00;
  s.mm.auxv_count = 2;
  s.mm.auxv[0] = 6;  // AT_PAGESZ
  s.mm.auxv[1] = 4096;
  s.mm.special_count = 2;
  s.mm.special[0] = {0x7ffd10000000, 0x7ffd10004000, static_cast<uint32_t>(SpecialMapKind::Vvar), 0};
  s.mm.special[1] = {0x7ffd10004000, 0x7ffd10006000, static_cast<uint32_t>(SpecialMapKind::Vdso), 0};

  for (uint32_t i = 0; i < kSignalCount; ++i) {
    s.sigactions.action[i] = {i * 16u, 0x04000000u, 0x401000u, uint64_t{1} << i};
  }
  for (uint32_t i = 0; i < kRlimitCount; ++i) {
    s.rlimits.cur[i] = 1000 + i;
    s.rlimits.max[i] = ~uint64_t{0};
  }

  ThreadRecord main{};
  main.tid = 4242;
  main.flags = kThreadMain;
  main.fs_base = 0x7f0000002000;
  main.sigmask = 0x200;
  main.context.rip = 0x401234;
  main.context.rsp = 0x7ffd00001e00;
  main.context.mxcsr = 0x1f80;
  main.context.fpu_cw = 0x37f;
  set_name(main.name, "app");
  ThreadRecord worker = main;
  worker.tid = 4243;
  worker.flags = kThreadRuntime;
  worker.fs_base = 0x7f0000003000;
  set_name(worker.name, "cr-callback");
  s.threads = {main, worker};

  s.regions.push_back({region(0x400000, 0x402000, RegionKind::FilePrivate, kProtRead | kProtExec), "/usr/bin/app"});
  s.regions.push_back({region(0x600000, 0x604000, RegionKind::Heap, kProtRead | kProtWrite), "[heap]"});
  s.regions.push_back(
      {region(0x7f0000000000, 0x7f0000002000, RegionKind::FileShared, kProtRead | kProtWrite), "/dev/shm/data"});
  s.regions.push_back({region(0x7ffd00000000, 0x7ffd00002000, RegionKind::Stack, kProtRead | kProtWrite), "[stack]"});
  s.regions[0].first.inode = 77;
  s.regions[0].first.file_size = 0x2000;

  s.fds.push_back({fd_record(0, FdKind::Tty, 5), "/dev/pts/3"});
  s.fds.push_back({fd_record(3, FdKind::PipeRead, 9001), "pipe:[9001]"});
  s.fds.push_back({fd_record(4, FdKind::PipeWrite, 9001), "pipe:[9001]"});
  s.fds[1].first.open_flags = O_RDONLY;
  s.fds[2].first.open_flags = O_WRONLY;
  s.fds[2].first.fd_flags = FD_CLOEXEC;
  s.fd_data.push_back({9001, Bytes{std::byte{'h'}, std::byte{'e'}, std::byte{'l'}, std::byte{'l'}, std::byte{'o'}}});
  // A stream socketpair, shut down in one direction, with bytes queued at fd 6; a dgram socketpair
  // with three messages (one empty) queued at fd 7.
  s.fds.push_back({unix_pair_end(5, 9100, 9101, kSocketStream), "socket:[9100]"});
  s.fds.push_back({unix_pair_end(6, 9101, 9100, kSocketStream), "socket:[9101]"});
  s.fds[3].first.shutdown = kShutdownWrite;
  s.fds[4].first.shutdown = kShutdownRead;
  s.fds[4].first.open_flags |= O_NONBLOCK;
  s.fds.push_back({unix_pair_end(7, 9200, 9201, kSocketDgram), "socket:[9200]"});
  s.fds.push_back({unix_pair_end(8, 9201, 9200, kSocketDgram), "socket:[9201]"});
  s.fd_data.push_back({9101, text_bytes("stream bytes")});
  s.fd_data.push_back({9200, framed_messages({"first", "", "third message"})});

  s.pages.push_back({0x600000, random_page(1)});
  s.pages.push_back({0x602000, pattern_page(7)});
  s.pages.push_back({0x7ffd00001000, pattern_page(9)});
  s.finish();
  return s;
}

int write_image(const ImageSpec& spec, const std::string& path, ZstdWorkspace* zstd) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return -errno;
  }
  int rc = write_image_to(spec, fd, zstd);
  ::close(fd);
  return rc;
}

int write_image_to(const ImageSpec& spec, int fd, ZstdWorkspace* zstd, bool hash_thread) {
  Bytes scratch(RecordWriter::kMinScratch);
  RecordWriter writer(fd, scratch, zstd);
  writer.allow_hash_thread(hash_thread);
  const ProcessRecord& p = spec.process;
  int rc = writer.begin(spec.header);
  auto step = [&](int result) {
    if (rc == 0) {
      rc = result;
    }
  };
  step(writer.record(RecordKind::Process, {{&p, sizeof p},
                                           {spec.cwd.data(), spec.cwd.size()},
                                           {spec.exe.data(), spec.exe.size()},
                                           {spec.cmdline.data(), spec.cmdline.size()},
                                           {spec.environ_block.data(), spec.environ_block.size()},
                                           {spec.hostname.data(), spec.hostname.size()},
                                           {spec.kernel.data(), spec.kernel.size()}}));
  step(writer.record(RecordKind::Mm, {{&spec.mm, sizeof spec.mm}}));
  step(writer.record(RecordKind::SigActions, {{&spec.sigactions, sizeof spec.sigactions}}));
  step(writer.record(RecordKind::Rlimits, {{&spec.rlimits, sizeof spec.rlimits}}));
  for (const ThreadRecord& t : spec.threads) {
    step(writer.record(RecordKind::Thread, {{&t, sizeof t}}));
  }
  for (const auto& [r, path_] : spec.regions) {
    step(writer.record(RecordKind::Region, {{&r, sizeof r}, {path_.data(), path_.size()}}));
  }
  for (const auto& [f, path_] : spec.fds) {
    step(writer.record(RecordKind::Fd, {{&f, sizeof f}, {path_.data(), path_.size()}}));
  }
  for (const auto& [inode, bytes] : spec.fd_data) {
    FdDataHeader h{inode, bytes.size()};
    step(writer.record(RecordKind::FdData, {{&h, sizeof h}, {bytes.data(), bytes.size()}}));
  }
  for (const PagesSpec& pages : spec.pages) {
    step(writer.pages(pages.address, pages.bytes.data(), pages.bytes.size()));
  }
  step(writer.end());
  return rc;
}

std::vector<RawRecord> raw_records(const ImageSpec& spec) {
  std::vector<RawRecord> out;
  Bytes process = as_bytes(spec.process);
  for (const std::string* s :
       {&spec.cwd, &spec.exe, &spec.cmdline, &spec.environ_block, &spec.hostname, &spec.kernel}) {
    append(process, s->data(), s->size());
  }
  out.push_back({RecordKind::Process, process});
  out.push_back({RecordKind::Mm, as_bytes(spec.mm)});
  out.push_back({RecordKind::SigActions, as_bytes(spec.sigactions)});
  out.push_back({RecordKind::Rlimits, as_bytes(spec.rlimits)});
  for (const ThreadRecord& t : spec.threads) {
    out.push_back({RecordKind::Thread, as_bytes(t)});
  }
  for (const auto& [r, path] : spec.regions) {
    Bytes payload = as_bytes(r);
    append(payload, path.data(), path.size());
    out.push_back({RecordKind::Region, payload});
  }
  for (const auto& [f, path] : spec.fds) {
    Bytes payload = as_bytes(f);
    append(payload, path.data(), path.size());
    out.push_back({RecordKind::Fd, payload});
  }
  for (const auto& [inode, bytes] : spec.fd_data) {
    Bytes payload = as_bytes(FdDataHeader{inode, bytes.size()});
    append(payload, bytes.data(), bytes.size());
    out.push_back({RecordKind::FdData, payload});
  }
  for (const PagesSpec& pages : spec.pages) {
    Bytes payload = as_bytes(PagesHeader{pages.address, pages.bytes.size()});
    append(payload, pages.bytes.data(), pages.bytes.size());
    out.push_back({RecordKind::Pages, payload});
  }
  return out;
}

Bytes record_bytes(RecordKind kind, const Bytes& payload, uint16_t flags) {
  RecordHeader h{};
  h.magic = kRecordMagic;
  h.kind = static_cast<uint16_t>(kind);
  h.flags = flags;
  h.stored_size = payload.size();
  h.raw_size = payload.size();
  h.payload_hash = payload_hash(payload.data(), payload.size());
  h.header_check = record_header_check(h);
  Bytes out(sizeof h + payload.size());
  std::memcpy(out.data(), &h, sizeof h);
  if (!payload.empty()) {
    std::memcpy(out.data() + sizeof h, payload.data(), payload.size());
  }
  return out;
}

Bytes assemble(const FileHeader& header, const std::vector<RawRecord>& records, bool add_end) {
  Bytes out = as_bytes(header);
  uint64_t pages_bytes = 0;
  for (const RawRecord& r : records) {
    Bytes framed = record_bytes(r.kind, r.payload, r.flags);
    out.insert(out.end(), framed.begin(), framed.end());
    if (r.kind == RecordKind::Pages && r.payload.size() >= sizeof(PagesHeader)) {
      pages_bytes += r.payload.size() - sizeof(PagesHeader);
    }
  }
  if (add_end) {
    EndRecord end{records.size(), pages_bytes, out.size()};
    Bytes framed = record_bytes(RecordKind::End, as_bytes(end));
    out.insert(out.end(), framed.begin(), framed.end());
  }
  return out;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

}  // namespace crcore::image::testing
