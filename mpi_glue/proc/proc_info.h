// What the MPI front ends read about other processes from /proc, and where crcore's programs are.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace crcore::mpi {

// The NUL-separated strings of /proc/PID/cmdline or /proc/PID/environ (empty if unreadable).
std::vector<std::string> proc_strings(int pid, const char* file);
// The value of NAME in pid's initial environment (/proc/PID/environ), if it is set there.
std::optional<std::string> proc_env(int pid, const std::string& name);
// Every descendant of pid (children first, then theirs), from the ppid fields of /proc/*/stat.
std::vector<int> descendants(int pid);
// The process exists and is not a zombie.
bool process_alive(int pid);
// /proc/PID/exe resolved ("" if unreadable), and /proc/PID/cwd.
std::string proc_link(int pid, const char* link);
// The first path in /proc/PID/maps whose file name starts with `prefix` (e.g. "libmpi.so"), or "".
std::string mapped_library(int pid, const std::string& prefix);

// The directory of this program's executable (symlinks resolved).
std::string self_dir();
// path joined onto this program's directory, normalised ("" if it does not exist).
std::string beside_self(const std::string& relative);

// Runs argv (no shell) and returns its standard output; nullopt if it could not run or failed.
std::optional<std::string> capture_output(const std::vector<std::string>& argv);

}  // namespace crcore::mpi
