// The scope index (see scope_index.h and docs/image-format.md).
#include "image/scope_index.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "image/image_error.h"

namespace crcore::image {
namespace {

bool parse_id(const std::string& word, long min, long& out) {
  if (word.empty() || word.size() > 10 || word.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  out = std::stol(word);
  return out >= min && out <= 0x3fffffff;
}

}  // namespace

const char* scope_kind_name(ScopeKind kind) {
  switch (kind) {
    case ScopeKind::Tree:
      return "tree";
    case ScopeKind::Pgid:
      return "pgid";
    case ScopeKind::Sid:
      return "sid";
  }
  return "?";
}

std::string format_scope_index(const ScopeIndex& index) {
  std::string out = fmt::format("{} {}\nscope {} {}\ncreated {}\n", kScopeIndexMagic, kScopeIndexVersion,
                                scope_kind_name(index.kind), index.id, index.created_ns);
  for (const auto& e : index.entries) {
    if (e.zombie) {
      out += fmt::format("zombie {} {} {} {} {}\n", e.pid, e.ppid, e.pgid, e.sid, e.exit_status);
    } else {
      out += fmt::format("process {} {} {} {} {}\n", e.pid, e.ppid, e.pgid, e.sid, e.image);
    }
  }
  out += fmt::format("end {}\n", index.entries.size());
  return out;
}

ScopeIndex parse_scope_index(const std::string& text, const std::string& path) {
  ScopeIndex index;
  std::istringstream in(text);
  std::string line;
  size_t number = 0;
  bool ended = false;
  std::set<pid_t> live;
  std::set<pid_t> seen;
  auto bad = [&](const std::string& why) {
    return image_error(path, fmt::format("scope index line {}: {}", number, why));
  };
  while (std::getline(in, line)) {
    ++number;
    if (ended) {
      throw bad("text after the end line");
    }
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) {
      w.push_back(word);
    }
    long a = 0, b = 0, c = 0, d = 0;
    if (number == 1) {
      if (w.size() != 2 || w[0] != kScopeIndexMagic) {
        throw bad("not a crcore scope index");
      }
      if (w[1] != std::to_string(kScopeIndexVersion)) {
        throw bad(fmt::format("version {} is not supported (this crcore reads version {})", w[1], kScopeIndexVersion));
      }
    } else if (number == 2) {
      if (w.size() != 3 || w[0] != "scope" || !parse_id(w[2], 1, a)) {
        throw bad("expected 'scope tree|pgid|sid ID'");
      }
      if (w[1] == "tree") {
        index.kind = ScopeKind::Tree;
      } else if (w[1] == "pgid") {
        index.kind = ScopeKind::Pgid;
      } else if (w[1] == "sid") {
        index.kind = ScopeKind::Sid;
      } else {
        throw bad("unknown scope '" + w[1] + "'");
      }
      index.id = static_cast<pid_t>(a);
    } else if (number == 3) {
      // from_chars, not stoull: a 20-digit number over 2^64 must be refused here, not throw out_of_range.
      const char* first = w.size() == 2 ? w[1].data() : nullptr;
      const char* last = w.size() == 2 ? w[1].data() + w[1].size() : nullptr;
      if (w.size() != 2 || w[0] != "created" || w[1].empty() ||
          w[1].find_first_not_of("0123456789") != std::string::npos ||
          std::from_chars(first, last, index.created_ns).ec != std::errc()) {
        throw bad("expected 'created NANOSECONDS'");
      }
    } else if (!w.empty() && w[0] == "end") {
      if (w.size() != 2 || w[1] != std::to_string(index.entries.size())) {
        throw bad(fmt::format("the end line does not count the {} entries above it", index.entries.size()));
      }
      ended = true;
    } else if (!w.empty() && (w[0] == "process" || w[0] == "zombie")) {
      ScopeEntry e;
      e.zombie = w[0] == "zombie";
      long last = 0;
      if (w.size() != 6 || !parse_id(w[1], 1, a) || !parse_id(w[2], 0, b) || !parse_id(w[3], 0, c) ||
          !parse_id(w[4], 0, d) || (e.zombie && !parse_id(w[5], 0, last))) {
        throw bad("expected '" + w[0] + " PID PPID PGID SID " + (e.zombie ? "STATUS'" : "IMAGE'"));
      }
      e.pid = static_cast<pid_t>(a);
      e.ppid = static_cast<pid_t>(b);
      e.pgid = static_cast<pid_t>(c);
      e.sid = static_cast<pid_t>(d);
      if (e.zombie) {
        e.exit_status = static_cast<int>(last & 0xffff);
        if (live.count(e.ppid) == 0) {
          throw bad(fmt::format("zombie {} has no live parent ({}) listed before it", e.pid, e.ppid));
        }
      } else {
        e.image = w[5];
        if (e.image.find('/') != std::string::npos || e.image == "." || e.image == "..") {
          throw bad("an image is named by a file name beside the index, not '" + e.image + "'");
        }
        live.insert(e.pid);
      }
      if (!seen.insert(e.pid).second) {
        throw bad(fmt::format("process {} is listed twice", e.pid));
      }
      if (index.entries.size() == kMaxScopeProcesses) {
        throw bad(fmt::format("more than {} processes", kMaxScopeProcesses));
      }
      index.entries.push_back(e);
    } else {
      throw bad("unknown line '" + line + "'");
    }
  }
  if (number < 3 || !ended) {
    throw image_error(path, "the scope index is truncated (no end line)");
  }
  if (live.empty()) {
    throw image_error(path, "the scope index lists no live process");
  }
  return index;
}

bool looks_like_scope_index(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[sizeof kScopeIndexMagic] = {};
  in.read(head, sizeof head - 1);
  return in.gcount() == static_cast<std::streamsize>(sizeof head - 1) &&
         std::memcmp(head, kScopeIndexMagic, sizeof head - 1) == 0;
}

ScopeIndex read_scope_index(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw image_error(path, std::string("cannot open: ") + strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1u << 20)) {
    throw image_error(path, "a scope index is at most 1 MiB");
  }
  return parse_scope_index(text.str(), path);
}

std::string scope_image_path(const std::string& index_path, const ScopeEntry& entry) {
  auto slash = index_path.find_last_of('/');
  return slash == std::string::npos ? entry.image : index_path.substr(0, slash + 1) + entry.image;
}

}  // namespace crcore::image
