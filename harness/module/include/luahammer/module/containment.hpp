// Side-effect containment for fuzzing code that touches the world (issue 19): a Lua C
// module under fuzzing may write files, open connections or start programs. contain_process
// confines the calling process for the rest of its life, unprivileged:
// - files: writes (create, write, truncate, remove, rename, link, mkdir, mknod) are refused
//   outside the writable folders (Landlock, Linux 5.13 or later); reading stays allowed;
// - network: socket() is refused, so no connection or listening socket can be opened
//   (seccomp); socketpair() stays allowed (a pipe by another name);
// - programs: execve and execveat are refused (seccomp); fork without exec stays allowed;
// - signals: kill() of a process group or of every process (pid 0 or below) is refused.
// Each refusal is an error the code sees (EACCES), never a signal: a module that tries is
// "contained", not a finding. What is not contained: reading files, a signal to another
// single process of the same user, fork (a module's fork function belongs on the exclude
// list, LUAHAMMER_EXCLUDE), sockets and files already open before the call, and the
// filesystem where the kernel lacks Landlock (the result says so).
#pragma once

#include <string>
#include <vector>

namespace luahammer {

struct ContainmentResult {
  bool files = false;         // writes outside the writable folders are refused
  bool network = false;       // socket() is refused
  bool programs = false;      // execve, execveat are refused
  std::string not_contained;  // why a part is missing ("" when all three hold)
};

// Confines this process (and the threads and children it makes from now on) for good.
// `writable`: the folders where writing stays allowed (each must exist). Threads already
// running are not confined: call it before starting any.
ContainmentResult contain_process(const std::vector<std::string>& writable);

// How a fuzzing process (a libFuzzer binary or a replay) is contained, planned from its
// command line: paths made absolute (the process then runs in a scratch folder), crash
// files kept where libFuzzer would write them, and the folders it writes to.
struct ContainmentPlan {
  bool contain = false;               // false: a parent that runs child processes, or asked off
  bool parent = false;                // runs its inputs in child processes, none itself
  std::string why_not;                // when !contain
  std::vector<std::string> args;      // the command line to run with (argv[0] first)
  std::vector<std::string> writable;  // the folders the engine writes to (corpus, artifacts, ...)
};

// `args`: argv; `cwd`: the current directory; `off`: LUAHAMMER_CONTAIN=0 was set; `engine`:
// the process is libFuzzer (not a replay or a tool, which write no crash files).
// A libFuzzer parent that starts child processes (-fork, -jobs, -workers, -merge,
// -set_cover_merge, -minimize_crash, -cleanse_crash) is not contained: each child it runs
// contains itself. An engine without -artifact_prefix or -exact_artifact_path gets
// -artifact_prefix=<cwd>/ (libFuzzer's default, the current directory, made absolute).
ContainmentPlan plan_containment(const std::vector<std::string>& args, const std::string& cwd, bool off, bool engine);

// For a fuzz target's LLVMFuzzerInitialize (libFuzzer reads argv after it): plans from
// *argc/*argv (rewriting them), makes a scratch folder, points HOME and TMPDIR at it,
// makes it the current directory, starts the sanitizer's symbolizer (later reports still
// name functions), contains the process, and prints one line saying what is contained.
// Returns false when this process runs no input itself (a libFuzzer parent of -fork, -merge,
// …): it should not call the module at all, its children do.
bool contain_fuzzing(int* argc, char*** argv);

// Before each input: the scratch folder emptied and the current directory again, so one
// input's files never change the next. Nothing when contain_fuzzing did not contain.
void reset_scratch();

}  // namespace luahammer
