// Keeps the application from disabling crcore's checkpoint signal: sigaction() on it reports
// success and changes nothing, and sigprocmask()/pthread_sigmask() never block it. Everything else passes
// through unchanged. These wrappers interpose libc's through symbol resolution (libcr is
// preloaded, or linked ahead of libc).
#pragma once

namespace crcore::runtime {

void protect_checkpoint_signal(int signal);

}  // namespace crcore::runtime
