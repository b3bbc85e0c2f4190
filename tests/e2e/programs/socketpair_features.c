/*
 * socketpair_features.c -- checks itself across checkpoint/restart: AF_UNIX socketpairs whose two
 * ends are in the process keep their queued data, message boundaries, flags and shutdown state.
 * Usage: socketpair_features STEPS
 *   - a SOCK_STREAM pair between the main thread and a worker: frames are written three steps
 *     ahead of the worker, which acknowledges each one; the main thread reads the acks two steps
 *     late, so both directions always hold unread bytes;
 *   - a SOCK_SEQPACKET pair: the main thread sends "go" to pace the worker, the worker answers
 *     with a message of varying size (some empty) that the main thread reads three steps late;
 *   - a SOCK_DGRAM pair, O_NONBLOCK on one end, a dup of the other: datagrams of sizes from 0 to
 *     3000 bytes queued five deep in each direction, each checked for its size and contents;
 *   - a stream pair shut down in one direction with "bye" unread, and FD_CLOEXEC on one end.
 * It prints one line per property at the end; the same lines must come out of an
 * uninterrupted run and of a run that was checkpointed, killed and restarted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define AHEAD 3    /* stream frames written before the worker reads them */
#define ACK_LAG 2  /* acks read this many steps late */
#define DONE_LAG 3 /* seqpacket answers read this many steps late */
#define DGRAM_DEPTH 5
#define FRAME_MAX 600

static int stream_pair[2]; /* [0] main, [1] worker */
static int seq_pair[2];    /* [0] main, [1] worker */
static uint64_t worker_sum;
static int worker_frames, worker_bad;

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void nap(void) {
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

static unsigned char pattern(uint64_t seed, size_t i) { return (unsigned char)((seed * 131 + i * 7 + 1) & 0xff); }

/* Exactly n bytes from a blocking stream; 0 at end of stream. */
static ssize_t read_exact(int fd, void* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char*)buf + got, n - got);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0) {
      die("read");
    }
    if (r == 0) {
      return (ssize_t)got;
    }
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static void write_exact(int fd, const void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, (const char*)buf + done, n - done);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      die("write");
    }
    done += (size_t)w;
  }
}

/* One message from a message socket, retried after EINTR; its full length (MSG_TRUNC). */
static ssize_t recv_message(int fd, void* buf, size_t n, int flags) {
  for (;;) {
    ssize_t r = recv(fd, buf, n, flags | MSG_TRUNC);
    if (r >= 0 || errno != EINTR) {
      return r;
    }
  }
}

static void send_message(int fd, const void* buf, size_t n) {
  for (;;) {
    ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
    if (w == (ssize_t)n) {
      return;
    }
    if (w < 0 && errno == EINTR) {
      continue;
    }
    die("send");
  }
}

static size_t frame_size(int step) { return (size_t)(step * 37 % FRAME_MAX) + 1; }
static size_t answer_size(int step) { return (size_t)(step % 5) * 41; } /* every fifth one is empty */
static size_t dgram_size(int n) {
  static const size_t sizes[] = {0, 1, 100, 1000, 3000, 17};
  return sizes[n % 6];
}

/* Frame of step s on the stream: u32 step, u32 length, then length pattern bytes. */
static void write_frame(int step) {
  unsigned char frame[8 + FRAME_MAX];
  uint32_t head[2] = {(uint32_t)step, (uint32_t)frame_size(step)};
  memcpy(frame, head, sizeof head);
  for (size_t i = 0; i < head[1]; ++i) {
    frame[8 + i] = pattern((uint64_t)step, i);
  }
  write_exact(stream_pair[0], frame, 8 + head[1]);
}

static void* worker(void* arg) {
  (void)arg;
  unsigned char buf[8 + FRAME_MAX];
  for (;;) {
    ssize_t n = recv_message(seq_pair[1], buf, sizeof buf, 0);
    if (n < 0) {
      die("recv go");
    }
    uint32_t step;
    memcpy(&step, buf, sizeof step);
    if (n != 4 + 2 || memcmp(buf + 4, "go", 2) != 0) {
      ++worker_bad;
    }
    if (step == 0) {
      break;
    }
    uint32_t head[2];
    if (read_exact(stream_pair[1], head, sizeof head) != sizeof head || head[0] != step ||
        head[1] != frame_size((int)step) || read_exact(stream_pair[1], buf, head[1]) != (ssize_t)head[1]) {
      ++worker_bad;
      break;
    }
    for (size_t i = 0; i < head[1]; ++i) {
      if (buf[i] != pattern(step, i)) {
        ++worker_bad;
      }
      worker_sum = mix(worker_sum, buf[i]);
    }
    ++worker_frames;
    write_exact(stream_pair[1], &step, sizeof step); /* the ack */
    size_t size = answer_size((int)step);
    for (size_t i = 0; i < size; ++i) {
      buf[i] = pattern(step + 1000, i);
    }
    send_message(seq_pair[1], buf, size);
  }
  return NULL;
}

static void send_go(uint32_t step) {
  unsigned char go[6];
  memcpy(go, &step, sizeof step);
  memcpy(go + 4, "go", 2);
  send_message(seq_pair[0], go, sizeof go);
}

/* Datagram number n (per direction): dgram_size(n) bytes of pattern(n + salt). */
static void send_dgram(int fd, int n, uint64_t salt) {
  unsigned char buf[3000];
  size_t size = dgram_size(n);
  for (size_t i = 0; i < size; ++i) {
    buf[i] = pattern((uint64_t)n + salt, i);
  }
  send_message(fd, buf, size);
}

/* Receives datagram number n from fd and checks it; returns 1 if it is right. */
static int check_dgram(int fd, int n, uint64_t salt, uint64_t* sum) {
  unsigned char buf[4096];
  ssize_t got = recv_message(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (got != (ssize_t)dgram_size(n)) {
    fprintf(stderr, "datagram %d: %zd bytes, expected %zu\n", n, got, dgram_size(n));
    return 0;
  }
  int ok = 1;
  for (ssize_t i = 0; i < got; ++i) {
    ok &= buf[i] == pattern((uint64_t)n + salt, (size_t)i);
    *sum = mix(*sum, buf[i]);
  }
  return ok;
}

static uint64_t answers_sum;
static int answers_read, answers_bad;

static void read_answer(int step) {
  unsigned char buf[512];
  ssize_t n = recv_message(seq_pair[0], buf, sizeof buf, 0);
  if (n != (ssize_t)answer_size(step)) {
    fprintf(stderr, "answer %d: %zd bytes, expected %zu\n", step, n, answer_size(step));
    ++answers_bad;
    return;
  }
  for (ssize_t i = 0; i < n; ++i) {
    answers_bad += buf[i] != pattern((uint64_t)step + 1000, (size_t)i);
    answers_sum = mix(answers_sum, buf[i]);
  }
  ++answers_read;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: socketpair_features STEPS\n");
    return 2;
  }
  int steps = atoi(argv[1]);
  int dgram_pair[2], closed_pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, stream_pair) != 0 || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, seq_pair) != 0 ||
      socketpair(AF_UNIX, SOCK_DGRAM, 0, dgram_pair) != 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, closed_pair) != 0) {
    die("socketpair");
  }
  /* dgram_pair[0] non-blocking; its reads go through a dup. */
  if (fcntl(dgram_pair[0], F_SETFL, O_NONBLOCK) != 0) {
    die("fcntl");
  }
  int dgram_dup = dup(dgram_pair[1]);
  if (dgram_dup < 0) {
    die("dup");
  }
  /* A pair shut down one way with "bye" unread: the other end reads it, then end of stream. */
  write_exact(closed_pair[0], "bye", 3);
  if (shutdown(closed_pair[0], SHUT_WR) != 0) {
    die("shutdown");
  }

  pthread_t t_worker;
  pthread_create(&t_worker, NULL, worker, NULL);
  for (int s = 1; s <= AHEAD; ++s) {
    write_frame(s);
  }
  /* DGRAM_DEPTH datagrams queued in each direction before the loop. */
  int sent_down = 0, sent_up = 0, got_down = 0, got_up = 0;
  uint64_t dgram_sum = 0;
  int dgram_ok = 1;
  for (int k = 0; k < DGRAM_DEPTH; ++k) {
    send_dgram(dgram_pair[0], sent_down++, 0);
    send_dgram(dgram_pair[1], sent_up++, 500);
  }
  uint64_t ack_sum = 0;
  int acks = 0, acks_bad = 0;
  printf("socketpair_features: %d steps\n", steps);
  fflush(stdout);
  for (int i = 1; i <= steps; ++i) {
    if (i + AHEAD <= steps) {
      write_frame(i + AHEAD);
    }
    send_go((uint32_t)i);
    if (i > ACK_LAG) {
      uint32_t ack;
      if (read_exact(stream_pair[0], &ack, sizeof ack) != sizeof ack || ack != (uint32_t)(i - ACK_LAG)) {
        ++acks_bad;
      }
      ack_sum = mix(ack_sum, ack);
      ++acks;
    }
    if (i > DONE_LAG) {
      read_answer(i - DONE_LAG);
    }
    /* One datagram each way: send the next, receive the oldest (the queues stay DGRAM_DEPTH deep). */
    send_dgram(dgram_pair[0], sent_down++, 0);
    send_dgram(dgram_pair[1], sent_up++, 500);
    dgram_ok &= check_dgram(dgram_dup, got_down++, 0, &dgram_sum);
    dgram_ok &= check_dgram(dgram_pair[0], got_up++, 500, &dgram_sum);
    nap();
    if (i % 10 == 0) {
      printf("progress step %d\n", i);
      fflush(stdout);
    }
  }
  send_go(0);
  pthread_join(t_worker, NULL);
  for (int s = steps - ACK_LAG + 1; s <= steps; ++s) {
    uint32_t ack;
    if (read_exact(stream_pair[0], &ack, sizeof ack) != sizeof ack || ack != (uint32_t)s) {
      ++acks_bad;
    }
    ack_sum = mix(ack_sum, ack);
    ++acks;
  }
  for (int s = steps - DONE_LAG + 1; s <= steps; ++s) {
    read_answer(s);
  }
  while (got_down < sent_down) {
    dgram_ok &= check_dgram(dgram_dup, got_down++, 0, &dgram_sum);
  }
  while (got_up < sent_up) {
    dgram_ok &= check_dgram(dgram_pair[0], got_up++, 500, &dgram_sum);
  }
  unsigned char extra[8];
  int dgram_empty = recv(dgram_pair[0], extra, sizeof extra, MSG_DONTWAIT) < 0 && errno == EAGAIN;

  char bye[8] = {0};
  ssize_t bye_len = read_exact(closed_pair[1], bye, sizeof bye); /* "bye", then end of stream */
  errno = 0;
  int send_refused = send(closed_pair[0], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE;
  int nonblocking = (fcntl(dgram_pair[0], F_GETFL) & O_NONBLOCK) != 0;
  int blocking = (fcntl(dgram_pair[1], F_GETFL) & O_NONBLOCK) == 0;
  int cloexec =
      (fcntl(closed_pair[0], F_GETFD) & FD_CLOEXEC) != 0 && (fcntl(stream_pair[0], F_GETFD) & FD_CLOEXEC) == 0;
  int type = 0;
  socklen_t len = sizeof type;
  getsockopt(seq_pair[0], SOL_SOCKET, SO_TYPE, &type, &len);

  printf("stream: %d frames read by the worker (bad %d), sum %016llx; %d acks (bad %d), sum %016llx\n", worker_frames,
         worker_bad, (unsigned long long)worker_sum, acks, acks_bad, (unsigned long long)ack_sum);
  printf("seqpacket: type kept %s, %d answers (bad %d), sum %016llx\n", type == SOCK_SEQPACKET ? "yes" : "NO",
         answers_read, answers_bad, (unsigned long long)answers_sum);
  printf("dgram: %d + %d datagrams, sizes and contents kept %s, queues drained %s, sum %016llx\n", got_down, got_up,
         dgram_ok ? "yes" : "NO", dgram_empty ? "yes" : "NO", (unsigned long long)dgram_sum);
  printf("shutdown: read '%.*s' then end of stream %s, send refused %s\n", (int)bye_len, bye,
         bye_len == 3 ? "yes" : "NO", send_refused ? "yes" : "NO");
  printf("flags: O_NONBLOCK kept %s, FD_CLOEXEC kept %s\n", nonblocking && blocking ? "yes" : "NO",
         cloexec ? "yes" : "NO");
  return 0;
}
