/* A shared anonymous mapping and a private one written before the checkpoint. */
#include <sys/mman.h>

#include "case.h"

int main(void) {
  size_t size = 1 << 20;
  unsigned char* s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  unsigned char* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED || p == MAP_FAILED)
    case_fail("mmap");
  for (size_t i = 0; i < size; i += 4096) {
    s[i] = (unsigned char)(i / 4096);
    p[i + 1] = (unsigned char)(i / 8192);
  }
  case_ready();
  case_wait_go();
  unsigned long sum = 0;
  for (size_t i = 0; i < size; ++i)
    sum += s[i] * 3u + p[i];
  case_print("sum %lu\n", sum);
  return 0;
}
