// cr_restart: turns an image back into the running process (BLCR's command and flags).
// cr_restart becomes the restored process: same pid as this command, the program's own exit status.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "control/kmod_client.h"
#include "image/image_reader.h"
#include "image/payload_check.h"
#include "image/scope_index.h"
#include "image/validation_proof.h"
#include "restart/image_chain.h"
#include "restart/page_validator.h"
#include "restart/pid_restore.h"
#include "restart/restorer.h"
#include "restart/tree_restore.h"
#include "restart/validation_order.h"
#include "runtime/restart_block.h"

int main(int argc, char** argv) {
  crcore::restart::RestartOptions options;
  CLI::App app{"Restart a process from its crcore image (written by cr_checkpoint)."};
  std::vector<std::string> relocate;
  bool stop = false, kill = false, term = false, cont = false, restore_pid = false, no_restore_pid = false;
  std::string run_on_success, run_on_failure;
  std::string backend = "auto";
  app.add_option("image", options.image_path, "the image file, or the index of a --tree/--pgid/--sid checkpoint")
      ->required();
  app.add_option("--relocate", relocate, "OLD=NEW: a file or directory that moved since the checkpoint");
  app.add_flag("--stop", stop, "stop the restored process (SIGSTOP) before it runs");
  app.add_flag("--kill", kill, "kill the restored process at once (checks that the image restores)");
  app.add_flag("--term", term, "send SIGTERM to the restored process");
  app.add_flag("--cont", cont, "let the restored process run (the default)");
  app.add_flag("--no-restore-pid", no_restore_pid,
               "give the restored process a new pid (the default for one process; a scope gets its pids back "
               "unless this is given)");
  app.add_flag("--restore-pid", restore_pid, "restore the original pid and tids");
  app.add_option("--run-on-success", run_on_success, "run this command once the process is restored");
  app.add_option("--run-on-failure", run_on_failure, "run this command if the restart fails");
  app.add_option("--backend", backend,
                 "'kmod': require the crcore kernel module (the restored process registers with /dev/crcore, "
                 "so that its next checkpoint goes through the module); 'user' or 'auto' (default): the "
                 "restored process uses the module when it is loaded. The restore itself is the same.")
      ->check(CLI::IsMember({"auto", "user", "kmod"}));
  app.add_flag("-q,--quiet", options.quiet, "print warnings only");
  // Internal (docs/restart.md, "Validation proofs"): not listed by --help, not a promise to users. The rank
  // launcher of ompi-restart passes the proof of ompi-restart's own full check of the image (and its
  // chain), so that the image's pages are not checksummed a second time. A proof that does not name the
  // very file opened (changed or replaced since) means the full validation, with a warning.
  std::string image_proof;
  bool has_proof = false;
  app.add_option_function<std::string>(
         "--image-proof",
         [&](const std::string& text) {
           image_proof = text;
           has_proof = true;
         },
         "")
      ->group("");
  app.add_flag("--no-affinity", options.no_affinity,
               "leave every thread's CPU affinity and NUMA memory policy as cr_restart's (default: as recorded, "
               "mapped onto this machine's topology with hwloc)");
  CLI11_PARSE(app, argc, argv);

  auto fail = [&](const std::string& message) {
    fprintf(stderr, "cr_restart: %s\n", message.c_str());
    if (!run_on_failure.empty()) {
      if (std::system(run_on_failure.c_str()) != 0) {
        fprintf(stderr, "cr_restart: --run-on-failure command failed\n");
      }
    }
    return 1;
  };
  if (backend == "kmod") {
    crcore::control::KmodRequester device;
    if (std::string err = device.open_device(); !err.empty()) {
      return fail("--backend=kmod: " + err);
    }
  }
  if (restore_pid && no_restore_pid) {
    return fail("--restore-pid and --no-restore-pid exclude each other");
  }
  for (const auto& r : relocate) {
    auto eq = r.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) {
      return fail("--relocate takes OLD=NEW, not '" + r + "'");
    }
    options.relocations.emplace_back(r.substr(0, eq), r.substr(eq + 1));
  }
  options.after_flags = kill   ? uint32_t{crcore::runtime::kRestartKill}
                        : term ? uint32_t{crcore::runtime::kRestartTerm}
                        : stop ? uint32_t{crcore::runtime::kRestartStop}
                               : 0u;
  options.run_on_success = run_on_success;
  options.run_on_failure = run_on_failure;
  try {
    if (crcore::image::looks_like_scope_index(options.image_path)) {
      // A scope: its processes name each other by pid, so they get their pids back by default.
      crcore::restart::restore_scope(options.image_path, options, !no_restore_pid);
    }
    crcore::image::ImageReader reader(options.image_path);
    std::optional<crcore::image::ValidationProof> proof;
    if (has_proof) {
      proof = crcore::image::parse_proof(image_proof);
      if (!proof) {
        fprintf(stderr, "cr_restart: warning: --image-proof is not a validation proof: validating %s fully\n",
                options.image_path.c_str());
      }
    }
    // The page checksums may be checked while the stage loads the pages (validation_order.h) when nothing
    // before the stage's verdict shows outside the new process: not with a hook command, nor with the pid
    // (--restore-pid) taken before it, nor with a proof (whose pages need no checking).
    bool overlap = crcore::restart::validation_order_from_environment() == crcore::restart::ValidationOrder::Overlap &&
                   !has_proof && !restore_pid && run_on_success.empty() && run_on_failure.empty();
    // An incremental image needs its parents: all found and checked before anything changes (with the
    // overlap: all but their page checksums, below).
    crcore::restart::ImageChain chain =
        proof     ? crcore::restart::load_chain(reader.load(*proof), &*proof)
        : overlap ? crcore::restart::load_chain(reader.load_without_page_checksums(), nullptr, true)
                  : crcore::restart::load_chain(reader.load());
    std::optional<crcore::restart::PageValidator> validator;
    if (overlap && crcore::restart::visible_before_stage(chain, options).empty()) {
      validator.emplace(chain);  // before any descriptor of the image exists
      options.page_validator = validator->pid();
    } else if (overlap) {
      // Something of the restore would show outside before the verdict: every checksum first, as always.
      crcore::restart::check_page_checksums(chain, crcore::image::PayloadCheck::kMaxThreads);
    }
    for (const crcore::image::Image& img : chain.images) {
      if (proof && !img.pages_trusted) {
        fprintf(stderr, "cr_restart: warning: %s is not the file that was checked (%s): validated it fully\n",
                img.path.c_str(), img.proof_mismatch.c_str());
      }
    }
    options.chain = &chain;
    crcore::image::Image& image = chain.images[0];
    if (restore_pid) {
      crcore::restart::restore_with_original_pid(image, options);
    }
    crcore::restart::restore(image, options);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
