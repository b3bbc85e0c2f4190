// The pipes and socketpairs a scope's processes share (see scope_fds.h).
#include "restart/scope_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "restart/restorer.h"

namespace crcore::restart {
namespace {

using image::FdKind;

const image::FdDataEntry* data_of(const std::vector<const image::Image*>& images, uint64_t inode) {
  for (const image::Image* img : images) {
    for (const auto& d : img->fd_data) {
      if (d.inode == inode) {
        return &d;  // every holder captured the same queue at the same stopped instant
      }
    }
  }
  return nullptr;
}

void send_queue(int from, const image::FdDataEntry& d, bool stream, uint64_t inode) {
  auto send_one = [&](const std::byte* bytes, size_t size) {
    size_t done = 0;
    do {
      ssize_t n = send(from, bytes + done, size - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 || (!stream && static_cast<size_t>(n) != size)) {
        throw RestartError("socket:[" + std::to_string(inode) + "]: cannot refill its queue: " +
                           (n < 0 ? std::string(strerror(errno)) : "a message was cut"));
      }
      done += static_cast<size_t>(n);
    } while (done < size);
  };
  if (stream) {
    send_one(d.bytes.data(), d.bytes.size());
  } else {
    for (const auto& m : d.messages) {
      send_one(m.data(), m.size());
    }
  }
}

void set_buffer(int fd, int option, int force_option, uint32_t recorded) {
  if (recorded == 0) {
    return;
  }
  int value = static_cast<int>(recorded / 2);  // the kernel doubles what it is given
  if (setsockopt(fd, SOL_SOCKET, force_option, &value, sizeof value) != 0) {
    setsockopt(fd, SOL_SOCKET, option, &value, sizeof value);
  }
}

// Both ends of the named FIFO at path, blocking, without waiting for a peer: a read-write
// descriptor keeps the FIFO open while the two ends are opened without blocking.
void open_fifo(const std::string& path, int p[2]) {
  int anchor = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (anchor < 0) {
    throw RestartError("cannot open the FIFO " + path + ": " + strerror(errno));
  }
  p[0] = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  p[1] = p[0] >= 0 ? open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1;
  int e = errno;
  close(anchor);
  if (p[0] < 0 || p[1] < 0) {
    if (p[0] >= 0) {
      close(p[0]);
    }
    throw RestartError("cannot open the FIFO " + path + ": " + strerror(e));
  }
  fcntl(p[0], F_SETFL, 0);
  fcntl(p[1], F_SETFL, 0);
}

void create(const std::vector<const image::Image*>& images, ScopeFds& out) {
  std::map<uint64_t, std::set<size_t>> holders;  // pipe or socket inode -> images holding it
  std::map<uint64_t, const image::FdRecord*> ends;
  std::map<uint64_t, std::string> fifos;  // inode -> path of a named FIFO
  for (size_t i = 0; i < images.size(); ++i) {
    for (const auto& f : images[i]->fds) {
      auto kind = static_cast<FdKind>(f.record.kind);
      if ((kind == FdKind::PipeRead || kind == FdKind::PipeWrite) && f.path.rfind("pipe:[", 0) != 0) {
        fifos[f.record.inode] = f.path;
      }
      if (kind == FdKind::PipeRead || kind == FdKind::PipeWrite || kind == FdKind::UnixPair) {
        holders[f.record.inode].insert(i);
      }
      if (kind == FdKind::UnixPair) {
        ends.emplace(f.record.inode, &f.record);
      }
    }
  }
  for (const auto& [inode, who] : holders) {
    if (ends.count(inode) != 0) {
      continue;
    }
    bool write_end = false;
    for (size_t i : who) {
      for (const auto& f : images[i]->fds) {
        write_end = write_end || (f.record.inode == inode && static_cast<FdKind>(f.record.kind) == FdKind::PipeWrite);
      }
    }
    // A pipe several processes hold is made once for all. So is a pipe whose write end no
    // process of the scope holds any more (its writer exited, as a pipeline's producer does)
    // but which still has unread data: the readers get the data, then EOF.
    if (who.size() < 2 && (write_end || data_of(images, inode) == nullptr)) {
      continue;  // one process's own pipe, or one to outside the scope: FdRestore handles it
    }
    int p[2];
    if (fifos.count(inode) != 0) {
      open_fifo(fifos.at(inode), p);
    } else if (pipe2(p, O_CLOEXEC) != 0) {
      throw RestartError(std::string("cannot create a pipe: ") + strerror(errno));
    }
    out.pipes[inode] = {p[0], p[1]};
    if (const image::FdDataEntry* d = data_of(images, inode); d != nullptr) {
      if (d->bytes.size() > 65536 && fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(d->bytes.size())) < 0) {
        throw RestartError("pipe:[" + std::to_string(inode) + "]: cannot make it large enough for its " +
                           std::to_string(d->bytes.size()) + " saved bytes: " + strerror(errno));
      }
      size_t done = 0;
      while (done < d->bytes.size()) {
        ssize_t n = write(p[1], d->bytes.data() + done, d->bytes.size() - done);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0) {
          throw RestartError(std::string("cannot refill a pipe: ") + strerror(errno));
        }
        done += static_cast<size_t>(n);
      }
    }
  }
  for (const auto& [inode, a] : ends) {
    if (out.sockets.count(inode) != 0) {
      continue;
    }
    auto peer = ends.find(a->peer_inode);
    if (peer == ends.end()) {
      throw RestartError("socket:[" + std::to_string(inode) + "]: its socketpair peer is in no image of the scope");
    }
    const image::FdRecord* b = peer->second;
    std::set<size_t> both = holders[a->inode];
    both.insert(holders[b->inode].begin(), holders[b->inode].end());
    if (both.size() < 2) {
      continue;  // both ends in one process only: FdRestore makes it
    }
    int pair[2];
    if (socketpair(AF_UNIX, static_cast<int>(a->socket_type) | SOCK_CLOEXEC, 0, pair) != 0) {
      throw RestartError(std::string("cannot create a socketpair: ") + strerror(errno));
    }
    out.sockets[a->inode] = pair[0];
    out.sockets[b->inode] = pair[1];
    for (const image::FdRecord* r : {a, b}) {
      set_buffer(out.sockets[r->inode], SO_SNDBUF, SO_SNDBUFFORCE, r->send_buffer);
      set_buffer(out.sockets[r->inode], SO_RCVBUF, SO_RCVBUFFORCE, r->receive_buffer);
    }
    bool stream = a->socket_type == image::kSocketStream;
    if (const image::FdDataEntry* d = data_of(images, a->inode); d != nullptr) {
      send_queue(pair[1], *d, stream, a->inode);  // a's queue is what b sent
    }
    if (const image::FdDataEntry* d = data_of(images, b->inode); d != nullptr) {
      send_queue(pair[0], *d, stream, b->inode);
    }
    for (const image::FdRecord* r : {a, b}) {
      bool read = (r->shutdown & image::kShutdownRead) != 0;
      bool write = (r->shutdown & image::kShutdownWrite) != 0;
      if ((read || write) && shutdown(out.sockets[r->inode], read && write ? SHUT_RDWR
                                                             : read        ? SHUT_RD
                                                                           : SHUT_WR) != 0) {
        throw RestartError("socket:[" + std::to_string(r->inode) + "]: cannot shut it down: " + strerror(errno));
      }
    }
  }
}

}  // namespace

ScopeFds create_scope_fds(const std::vector<const image::Image*>& images) {
  ScopeFds out;
  try {
    create(images, out);
  } catch (...) {
    close_scope_fds(out);
    throw;
  }
  return out;
}

void close_scope_fds(ScopeFds& fds) {
  for (auto& [inode, p] : fds.pipes) {
    close(p.first);
    close(p.second);
  }
  for (auto& [inode, fd] : fds.sockets) {
    close(fd);
  }
  fds.pipes.clear();
  fds.sockets.clear();
}

}  // namespace crcore::restart
