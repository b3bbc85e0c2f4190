/* Memory advice that belongs to a mapping (madvise(2)): MADV_DONTFORK, MADV_WIPEONFORK, MADV_HUGEPAGE,
 * MADV_NOHUGEPAGE and MADV_DONTDUMP regions, each holding data. The data and each region's advice
 * (VmFlags in /proc/self/smaps) must survive the checkpoint; a DONTFORK region must still be left out of
 * a child, a WIPEONFORK region still read as zeros there. */
#include <sys/mman.h>
#include <sys/wait.h>

#include "case.h"

#define REGIONS 5
static const int kAdvice[REGIONS] = {MADV_DONTFORK, MADV_WIPEONFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP};
static const char* const kName[REGIONS] = {"dontfork", "wipeonfork", "hugepage", "nohugepage", "dontdump"};
static const char* const kFlag[REGIONS] = {"dc", "wf", "hg", "nh", "dd"};

/* Whether the VmFlags line of the mapping that starts at `start` lists `flag`. */
static int has_flag(void* start, const char* flag) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (f == NULL)
    case_fail("open smaps");
  char line[512];
  char head[32];
  snprintf(head, sizeof head, "%lx-", (unsigned long)start);
  int in = 0, found = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) /* a mapping's first line */
      in = strncmp(line, head, strlen(head)) == 0;
    if (in && strncmp(line, "VmFlags:", 8) == 0) {
      char needle[8];
      snprintf(needle, sizeof needle, " %s", flag);
      found = strstr(line, needle) != NULL;
      break;
    }
  }
  fclose(f);
  return found;
}

int main(void) {
  size_t size = 4u << 20;
  unsigned char* region[REGIONS];
  for (int r = 0; r < REGIONS; ++r) {
    /* 2 MiB-aligned, so that the hugepage region can be backed by huge pages. */
    unsigned char* raw = mmap(NULL, size + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
      case_fail("mmap");
    region[r] = (unsigned char*)(((unsigned long)raw + (2u << 20) - 1) & ~((2ul << 20) - 1));
    if (madvise(region[r], size, kAdvice[r]) != 0)
      case_fail("madvise %s", kName[r]);
    for (size_t i = 0; i < size; i += 512)
      region[r][i] = (unsigned char)(i / 512 + r);
  }
  case_ready();
  case_wait_go();
  for (int r = 0; r < REGIONS; ++r) {
    unsigned long sum = 0;
    for (size_t i = 0; i < size; ++i)
      sum += region[r][i];
    case_print("%s: sum %lu, advice %s\n", kName[r], sum, has_flag(region[r], kFlag[r]) ? "kept" : "LOST");
  }
  /* What the advice does: seen by a child. */
  pid_t child = fork();
  if (child < 0)
    case_fail("fork");
  if (child == 0) {
    unsigned long wiped = 0;
    for (size_t i = 0; i < size; ++i)
      wiped += region[1][i];
    unsigned char vec = 0;
    int absent = mincore(region[0], 4096, &vec) != 0 && errno == ENOMEM;
    printf("child: wipeonfork sum %lu, dontfork region %s\n", wiped, absent ? "absent" : "PRESENT");
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    case_fail("child");
  return 0;
}
