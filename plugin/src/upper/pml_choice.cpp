#include "pml_choice.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "crcore_ext.h"
#include "lower_half.h"

namespace crmpi {

namespace {

// The selected pml's name ("ob1", "ucx", "cm"...), part of the image. Empty: not known.
char g_pml[32];

// CRCORE_MPI_KEEP_PML_PROBE=1 in the new job's environment (cr_restart's, not the restored one's).
bool new_job_keeps_probing() {
  size_t length = 0;
  const char* environment = crcore_restart_environment(&length);
  const char* wanted = "CRCORE_MPI_KEEP_PML_PROBE=1";
  for (const char* e = environment; environment != nullptr && e < environment + length; e += strlen(e) + 1) {
    if (strcmp(e, wanted) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

void remember_selected_pml() {
  // Open MPI 4.1's libmpi exports the selected module as `mca_pml` (mca_pml_base_module_t), whose first
  // member is the component's add_procs function: the file holding it is mca_pml_<name>.so.
  auto* module = static_cast<void* const*>(lower_symbol("mca_pml"));
  if (module == nullptr || module[0] == nullptr) {
    return;
  }
  Dl_info info{};
  if (dladdr(module[0], &info) == 0 || info.dli_fname == nullptr) {
    return;
  }
  const char* base = strrchr(info.dli_fname, '/');
  base = base != nullptr ? base + 1 : info.dli_fname;
  const char* prefix = "mca_pml_";
  const char* suffix = strstr(base, ".so");
  if (strncmp(base, prefix, strlen(prefix)) != 0 || suffix == nullptr) {
    return;  // built into libmpi or named otherwise: no choice to pass on
  }
  const char* name = base + strlen(prefix);
  auto length = static_cast<size_t>(suffix - name);
  if (length == 0 || length >= sizeof g_pml) {
    return;
  }
  memcpy(g_pml, name, length);
  g_pml[length] = '\0';
  if (getenv("CRMPI_DEBUG") != nullptr) {
    fprintf(stderr, "crmpi: the lower half runs pml %s\n", g_pml);
  }
}

void choose_remembered_pml() {
  if (g_pml[0] == '\0' || getenv("OMPI_MCA_pml") != nullptr) {
    return;
  }
  if (new_job_keeps_probing()) {
    return;
  }
  setenv("OMPI_MCA_pml", g_pml, 1);
  if (getenv("CRMPI_DEBUG") != nullptr) {
    fprintf(stderr, "crmpi: restarting with OMPI_MCA_pml=%s\n", g_pml);
  }
}

}  // namespace crmpi
