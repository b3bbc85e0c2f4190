// The order of records in an image, shared by the writer (which refuses to break it) and the
// reader (which accepts exactly this order):
//
//   Process, Mm, SigActions, Rlimits, Thread x thread_count, Region x region_count, Fd x fd_count,
//   FdData x any, Pages x any, End
//
// Async-signal-safe and freestanding: constexpr functions only.
#pragma once

#include <cstdint>

#include "image/format.h"

namespace crcore::image {

// Position of a kind in the order above; -1 for a kind this version does not know.
constexpr int record_rank(RecordKind kind) {
  switch (kind) {
    case RecordKind::Process:
      return 0;
    case RecordKind::Mm:
      return 1;
    case RecordKind::SigActions:
      return 2;
    case RecordKind::Rlimits:
      return 3;
    case RecordKind::Thread:
      return 4;
    case RecordKind::Region:
      return 5;
    case RecordKind::Fd:
      return 6;
    case RecordKind::FdData:
      return 7;
    case RecordKind::Resource:
      return 8;
    case RecordKind::Pages:
      return 9;
    case RecordKind::End:
      return 10;
  }
  return -1;
}

inline constexpr int kRecordRankCount = 11;

// The kinds by rank (the inverse of record_rank).
inline constexpr RecordKind kRecordOrder[kRecordRankCount] = {
    RecordKind::Process,  RecordKind::Mm,     RecordKind::SigActions, RecordKind::Rlimits,
    RecordKind::Thread,   RecordKind::Region, RecordKind::Fd,         RecordKind::FdData,
    RecordKind::Resource, RecordKind::Pages,  RecordKind::End,
};

// Kinds that appear exactly once.
constexpr bool record_is_singleton(RecordKind kind) {
  return kind == RecordKind::Process || kind == RecordKind::Mm || kind == RecordKind::SigActions ||
         kind == RecordKind::Rlimits || kind == RecordKind::End;
}

}  // namespace crcore::image
