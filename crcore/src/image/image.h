// Image: everything ImageReader::load() found in an image file, validated. Page contents stay in the
// file (PagesRef says where); ImageReader::for_each_pages() streams them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "image/format.h"
#include "image/validation_proof.h"

namespace crcore::image {

struct RegionEntry {
  RegionRecord record;
  std::string path;
};

struct FdEntry {
  FdRecord record;
  std::string path;
};

// The unread data of a pipe or socketpair end (an FdData record).
struct FdDataEntry {
  uint64_t inode;
  std::vector<std::byte> bytes;  // the payload after the FdDataHeader, as stored
  // SOCK_DGRAM/SOCK_SEQPACKET ends only: the queued messages in order, split at their boundaries
  // (bytes then holds them framed with FdMessageHeaders). Empty for pipes and stream sockets.
  std::vector<std::vector<std::byte>> messages;
};

// One Resource record (version 3): its header and the bytes after it.
struct ResourceEntry {
  ResourceHeader header;
  std::vector<std::byte> bytes;

  // The bytes as text (FdInfo, Topology).
  std::string_view text() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
};

// Where one Pages record's contents are in the file.
struct PagesRef {
  uint64_t address;         // page-aligned
  uint64_t length;          // raw page bytes
  uint64_t payload_offset;  // file offset of the record's payload (its PagesHeader)
  uint64_t stored_size;     // payload bytes in the file: PagesHeader + page bytes or one zstd frame
  uint64_t payload_hash;    // RecordHeader.payload_hash
  uint64_t record_index;    // position in the file (0 = the first record after the file header)
  uint16_t flags;           // RecordFlag bits (kRecordZstd)
};

struct Image {
  std::string path;
  uint64_t file_size = 0;
  FileHeader header{};

  ProcessRecord process{};
  std::string cwd;
  std::string exe;
  std::vector<std::string> cmdline;      // the arguments
  std::vector<std::string> environment;  // NAME=value entries
  std::string hostname;
  std::string kernel;

  MmRecord mm{};
  SigActionsRecord sigactions{};
  RlimitsRecord rlimits{};
  std::vector<ThreadRecord> threads;  // file order; exactly one has kThreadMain
  std::vector<RegionEntry> regions;   // sorted by address, disjoint
  std::vector<FdEntry> fds;           // file order, distinct fd numbers
  std::vector<FdDataEntry> fd_data;
  std::vector<ResourceEntry> resources;  // file order
  std::vector<PagesRef> pages;           // file order
  EndRecord end{};

  // The file as fstat saw it when load() began (cr_restart opens it again for the pages: it must still
  // be this file), and the End record's payload hash (what a validation proof names).
  FileIdentity identity{};
  uint64_t end_hash = 0;
  // load(proof) only: true when the proof matched this file and the Pages payloads were not hashed;
  // otherwise why the proof did not apply ("" when no proof was given).
  bool pages_trusted = false;
  std::string proof_mismatch;
};

}  // namespace crcore::image
