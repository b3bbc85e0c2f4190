// Everything the restart stage needs, prepared by cr_restart into one plain block (the CRIU way:
// the stage reads it and never allocates). Shared between cr_restart and the freestanding stage:
// plain data only. Bump kStageArgsMagic's version byte on any change.
#pragma once

#include <cstdint>

#include "image/format.h"
#include "runtime/restart_block.h"

namespace crcore::stage {

inline constexpr uint64_t kStageArgsMagic = 0x0653474154534352ull;  // "RCSTAGS" + version 6

enum StageMapFlag : uint32_t {
  kMapShared = 1u << 0,
  kMapAnonymous = 1u << 1,
  kMapGrowsDown = 1u << 2,
  kMapHasData = 1u << 3,  // the feeder sends page data for it: mapped writable until filled
};

struct StageRegion {
  uint64_t start;
  uint64_t end;
  uint64_t file_offset;
  int32_t fd;       // file to map, or -1
  uint32_t prot;    // PROT_* of the final mapping
  uint32_t flags;   // StageMapFlag
  uint32_t advice;  // image::kRegionAdvice bits: madvise(2) of the restored mapping
};

struct StageSpecial {
  uint64_t start;
  uint64_t end;
  uint32_t kind;  // image::SpecialMapKind
  uint32_t reserved;
};

// prctl(PR_SET_MM, PR_SET_MM_MAP) argument, as <linux/prctl.h> defines struct prctl_mm_map.
struct MmMap {
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
  uint64_t arg_start, arg_end, env_start, env_end;
  uint64_t auxv;  // pointer
  uint32_t auxv_size;
  uint32_t exe_fd;
};

// The CPU affinity and NUMA memory policy one restored thread gets (cr_restart has mapped them
// onto this machine's topology). The stage gives them to each thread by setting them on the
// leader just before cloning it (a clone inherits both), then on the leader itself.
struct StageThreadPolicy {
  uint64_t cpus[16];       // sched_setaffinity mask (1024 CPUs)
  uint64_t nodes[16];      // set_mempolicy node mask (1024 nodes)
  uint32_t has_cpus;       // 1: set the affinity
  int32_t mempolicy_mode;  // MPOL_* with flags; -1: leave the policy alone
};

// Page bytes the stage reads itself, straight from an image file into place (uncompressed Pages
// records, already validated by cr_restart); compressed ones come from the feeder.
struct StageExtent {
  uint64_t address;      // page-aligned, inside a region with kMapHasData
  uint64_t length;       // bytes
  uint64_t file_offset;  // where they are in the file
  int32_t fd;            // the image file, above close_from
  uint32_t reserved;
};

struct StageArgs {
  uint64_t magic;
  uint64_t stage_start;  // the stage's own mapping: kept while everything else is unmapped
  uint64_t stage_length;
  uint64_t temp_start;  // a spare part of the stage mapping, to park the vdso while moving it
  uint64_t temp_length;
  uint64_t task_size;  // top of user address space

  StageSpecial current_special[image::kMaxSpecialMaps];  // cr_restart's vvar/vdso now
  uint32_t current_special_count;
  uint32_t image_special_count;
  StageSpecial image_special[image::kMaxSpecialMaps];  // where the image expects them

  uint64_t old_rseq_area;  // cr_restart's own rseq registration, dropped first
  uint32_t old_rseq_len;
  uint32_t old_rseq_signature;

  int32_t feeder_fd;      // read end of the page pipe
  int32_t feeder_pid;     // 0: no feeder (no compressed pages to send), feeder_fd -1
  int32_t feeder_go_fd;   // write end of the feeder's start pipe: one byte once the regions are mapped
  int32_t close_from;     // every descriptor from here up is cr_restart's: closed before resuming
  int32_t report_fd;      // with a validator: cr_restart's own stderr, above close_from (descriptor 2 is the
                          // restored process's by then), for the verdict's message
  int32_t validator_pid;  // the page validator (cr_restart's child checking the page checksums), or 0:
                          // its exit status is the verdict, awaited before any restored code runs

  MmMap mm;
  uint64_t auxv[image::kMaxAuxv * 2];

  uint64_t restart_block_address;  // runtime::RestartBlock in the image, 0 if none
  runtime::RestartBlock restart_block;

  uint64_t regions;  // address of StageRegion[region_count]
  uint32_t region_count;
  uint32_t thread_count;
  uint64_t threads;        // address of image::ThreadRecord[thread_count]; the main thread first
  uint64_t thread_stacks;  // thread_count + 1 stacks of thread_stack_size bytes each: slot i for thread i
                           // (1 <= i < thread_count), slot 0 for the stage's second extent reader
  uint64_t thread_stack_size;
  uint32_t restore_tids;     // 1: every thread gets its original tid (clone3 set_tid)
  uint32_t extent_readers;   // threads reading the uncompressed pages: 2 (read_extents' helper) or 1
  uint64_t thread_policies;  // address of StageThreadPolicy[thread_count] (order of threads), or 0
  uint64_t extents;          // address of StageExtent[extent_count], read before the feeder's pages
  uint64_t extent_count;
};

}  // namespace crcore::stage
