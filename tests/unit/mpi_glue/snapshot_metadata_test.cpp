// metadata.json: written and read back; every inconsistency refused with a message saying what.
#include "snapshot/snapshot_metadata.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace crcore::mpi {
namespace {

SnapshotMetadata sample() {
  SnapshotMetadata m;
  m.size = 2;
  m.mpirun_pid = 100;
  m.mpirun_command = {"mpirun", "-np", "2", "./app"};
  m.command = {"./app"};
  m.cwd = "/tmp";
  m.mpi_library = "Open MPI";
  m.mpi_version = "4.1.4";
  m.taken = "2026-01-01T00:00:00Z";
  m.taken_unix_ns = 1;
  m.checkpoint_seconds = 0.5;
  m.ranks = {{1, "rank.1.ctx", 11, "h", 4096}, {0, "rank.0.ctx", 10, "h", 8192}};
  return m;
}

std::string message_of(const std::string& text) {
  try {
    parse_metadata(text, "M");
  } catch (const SnapshotError& e) {
    return e.what();
  }
  return "";
}

std::string edited(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(to_json_text(sample()));
  edit(j);
  return j.dump();
}

TEST(SnapshotMetadata, RoundTripsAndSortsTheRanks) {
  SnapshotMetadata m = parse_metadata(to_json_text(sample()), "M");
  EXPECT_EQ(m.size, 2);
  ASSERT_EQ(m.ranks.size(), 2u);
  EXPECT_EQ(m.ranks[0].rank, 0);
  EXPECT_EQ(m.ranks[0].image, "rank.0.ctx");
  EXPECT_EQ(m.ranks[0].image_bytes, 8192u);
  EXPECT_EQ(m.ranks[1].pid, 11);
  EXPECT_EQ(m.mpi_version, "4.1.4");
  EXPECT_EQ(m.mpirun_command.size(), 4u);
}

TEST(SnapshotMetadata, RefusesWhatIsWrong) {
  EXPECT_NE(message_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(message_of("[]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["format"] = "other"; })).find("format"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["version"] = 99; })).find("version 99"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j.erase("size"); })).find("\"size\" is missing"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["size"] = "two"; })).find("wrong type"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["size"] = 3; })).find("3 ranks but 2 are listed"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["ranks"][1]["rank"] = 1; })).find("listed twice"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["ranks"][0]["rank"] = 5; })).find("outside"), std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["ranks"][0]["image"] = "../x"; })).find("plain file name"),
            std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["ranks"][0]["image"] = "rank.0.ctx"; })).find("two ranks"),
            std::string::npos);
}

// Findings of tests/fuzz/snapshot_metadata_fuzz (docs/reliability.md, "Fuzzing"): each was a crash or a
// wrong acceptance before its fix; each input must now be refused with SnapshotError, saying what.
TEST(SnapshotMetadataFuzzRegressions, NumbersOutOfRangeAreRefusedNotConverted) {
  // A float converted to int was undefined behaviour (UBSan: "1e+30 is outside the range of int").
  EXPECT_NE(message_of(edited([](auto& j) { j["size"] = 1e30; })).find("\"size\" has the wrong type (number)"),
            std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["ranks"][0]["rank"] = 0.5; })).find("\"rank\" has the wrong type"),
            std::string::npos);
  // 4294967298 was read as 2, and 2^63 as a negative pid: now out of range.
  EXPECT_NE(message_of(edited([](auto& j) { j["size"] = 4294967298ull; })).find("\"size\" is out of range"),
            std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["mpirun_pid"] = 9223372036854775808ull; })).find("out of range"),
            std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["ranks"][1]["image_bytes"] = -1; })).find("out of range"),
            std::string::npos);
  // A boolean was taken as 1.
  EXPECT_NE(message_of(edited([](auto& j) { j["version"] = true; })).find("\"version\" has the wrong type (boolean)"),
            std::string::npos);
  EXPECT_NE(message_of(edited([](auto& j) { j["checkpoint_seconds"] = false; })).find("wrong type (boolean)"),
            std::string::npos);
}

TEST(SnapshotMetadataFuzzRegressions, ANumberTooLargeForADoubleIsNotValidJson) {
  // nlohmann::json throws out_of_range (not parse_error) for a number over the range of a double: it
  // escaped parse_metadata() as a foreign exception. Found by snapshot_metadata_fuzz after 3,769
  // executions, from the seed written_1ranks.json mutated to "size": 11e400.
  std::string text = to_json_text(sample());
  std::string size_field = "\"size\": 2";
  ASSERT_NE(text.find(size_field), std::string::npos);
  text.replace(text.find(size_field), size_field.size(), "\"size\": 11e400");
  EXPECT_NE(message_of(text).find("is damaged: not valid JSON ([json.exception.out_of_range.406] number overflow"),
            std::string::npos)
      << message_of(text);
  std::string seconds = to_json_text(sample());
  seconds.replace(seconds.find("0.5"), 3, "1e400");
  EXPECT_NE(message_of(seconds).find("not valid JSON"), std::string::npos);
}

TEST(SnapshotMetadataFuzzRegressions, LimitsThatFitAreAccepted) {
  SnapshotMetadata m = parse_metadata(edited([](auto& j) {
                                        j["taken_unix_ns"] = 18446744073709551615ull;
                                        j["mpirun_pid"] = 2147483647;
                                        j["checkpoint_seconds"] = 2;
                                      }),
                                      "M");
  EXPECT_EQ(m.taken_unix_ns, 18446744073709551615ull);
  EXPECT_EQ(m.mpirun_pid, 2147483647);
  EXPECT_EQ(m.checkpoint_seconds, 2.0);
}

TEST(SnapshotMetadata, AMissingFileMeansIncomplete) {
  try {
    read_metadata("/nonexistent-snapshot-dir");
    FAIL() << "no error";
  } catch (const SnapshotError& e) {
    EXPECT_NE(std::string(e.what()).find("not a complete snapshot"), std::string::npos);
  }
}

}  // namespace
}  // namespace crcore::mpi
