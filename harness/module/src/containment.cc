// Containment: Landlock for writes, a seccomp filter for sockets and exec (containment.hpp).
#include <luahammer/module/containment.hpp>

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>

// Weak: present with a sanitizer (the symbolizer) or with coverage instrumentation (the
// profile's file name); absent otherwise.
extern "C" void __sanitizer_symbolize_pc(void* pc, const char* fmt, char* out, std::size_t size) __attribute__((weak));
extern "C" void __llvm_profile_set_filename(const char* name) __attribute__((weak));
// Defined by libFuzzer: this process is a fuzzing engine, not a replay or a tool.
extern "C" int LLVMFuzzerRunDriver(int* argc, char*** argv, int (*callback)(const std::uint8_t*, std::size_t))
    __attribute__((weak));

// Landlock ABI 3 (Linux 6.2); Debian 12's kernel headers predate it. The kernel's value.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

namespace luahammer {
namespace {

#if defined(__x86_64__)
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
constexpr std::uint32_t kAuditArch = 0;  // no filter: the result says so
#endif
// Where the low 32 bits of a 64-bit system call argument sit in seccomp_data.
constexpr std::size_t kLowWord = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : 4;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// The write rights Landlock knows at ABI `abi` (refer since 2, truncate since 3).
std::uint64_t write_rights(long abi) {
  std::uint64_t rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                         LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
                         LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                         LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
  return rights;
}

// Writes allowed only beneath `writable` (and to /dev/null). "" on success, else why not.
std::string restrict_writes(const std::vector<std::string>& writable) {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) return errno_text("Landlock unavailable");
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = write_rights(abi);
  const int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (ruleset < 0) return errno_text("landlock_create_ruleset");
  std::string failed;
  const auto allow = [&](const std::string& path, std::uint64_t rights) {
    const int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      failed = errno_text(("writable path " + path).c_str());
      return;
    }
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = rights;
    beneath.parent_fd = fd;
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0)
      failed = errno_text(("landlock_add_rule " + path).c_str());
    close(fd);
  };
  for (const std::string& folder : writable) allow(folder, write_rights(abi));
  // A file takes only the file rights: writing to /dev/null is no side effect.
  allow("/dev/null", LANDLOCK_ACCESS_FS_WRITE_FILE | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0));
  if (failed.empty() && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
    failed = errno_text("landlock_restrict_self");
  close(ruleset);
  return failed;
}

// socket, execve, execveat and kill of a group or of all answer EACCES; every other call runs.
std::string refuse_sockets_and_exec() {
  if (kAuditArch == 0) return "no seccomp filter for this architecture";
  constexpr std::uint32_t kRefuse = SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA);
  sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, kRefuse),  // another ABI's calls (int 0x80): all refused
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
#if defined(__x86_64__)
    // x32 calls carry this bit and would bypass the numbers below.
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, kRefuse),
#endif
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 8, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 7, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 6, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kill, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    // kill(pid): pid 0 (the process group) and below (-1: every process; -n: group n) refused.
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0]) + kLowWord),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80000000u, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, kRefuse),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) return errno_text("seccomp filter");
  return "";
}

}  // namespace

ContainmentResult contain_process(const std::vector<std::string>& writable) {
  ContainmentResult result;
  // Unprivileged Landlock and seccomp need it; it also keeps exec from gaining privileges.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    result.not_contained = errno_text("no_new_privs");
    return result;
  }
  const std::string files = restrict_writes(writable);
  result.files = files.empty();
  const std::string calls = refuse_sockets_and_exec();
  result.network = result.programs = calls.empty();
  for (const std::string* why : {&files, &calls}) {
    if (why->empty()) continue;
    if (!result.not_contained.empty()) result.not_contained += "; ";
    result.not_contained += *why;
  }
  return result;
}

namespace {

std::string absolute(const std::string& path, const std::string& cwd) {
  return path.empty() || path[0] == '/' ? path : cwd + "/" + path;
}

std::string folder_of(const std::string& path) {
  const auto cut = path.find_last_of('/');
  return cut == std::string::npos ? "." : cut == 0 ? "/" : path.substr(0, cut);
}

bool is_folder(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// libFuzzer flags whose value is a path, and what of it the engine writes to.
enum class PathUse { kRead, kFolder, kInFolder, kPrefix };
struct PathFlag {
  const char* name;
  PathUse use;
};
constexpr PathFlag kPathFlags[] = {
    {"artifact_prefix", PathUse::kPrefix},
    {"exact_artifact_path", PathUse::kInFolder},
    {"merge_control_file", PathUse::kInFolder},
    {"features_dir", PathUse::kFolder},
    {"dict", PathUse::kRead},
    {"stop_file", PathUse::kRead},
    {"mutation_graph_file", PathUse::kInFolder},
    {"data_flow_trace", PathUse::kRead},
};

// Flags with which libFuzzer's process runs its inputs in child processes (each child runs
// without them, so it contains itself).
constexpr const char* kParentFlags[] = {"fork",           "jobs",         "workers", "merge", "set_cover_merge",
                                        "minimize_crash", "cleanse_crash"};

std::string g_scratch;  // set once contained

// Removes what is in the scratch folder, and with `folder` the folder too. The folder
// itself stays while contained: Landlock's rule is on it, a new one would not be writable.
void empty_scratch(bool folder) {
  if (g_scratch.empty()) return;
  static bool remove_folder;
  remove_folder = folder;
  nftw(
      g_scratch.c_str(),
      [](const char* path, const struct stat*, int, FTW* at) {
        if (at->level > 0 || remove_folder) ::remove(path);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

// Removing the folder needs a right on its parent, which a contained process lacks: a
// watcher process, forked before containment, removes it once every process holding the
// pipe's other end has ended (however it ended: a crash leaves no scratch folder behind).
// The watcher leaves the fuzzer's session and process group, so that what ends the fuzzer
// (a timeout's or a campaign script's kill of the group, Ctrl-C in a terminal) leaves it
// alive to clean up. The fuzzer goes on only once the watcher has left (`ready` closed).
void watch_scratch() {
  int fds[2];
  int ready[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  if (pipe2(ready, O_CLOEXEC) != 0) {
    close(fds[0]);
    close(fds[1]);
    return;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {fds[0], fds[1], ready[0], ready[1]}) close(fd);
    return;
  }
  if (pid == 0) {
    setsid();
    const int quiet = open("/dev/null", O_RDWR);
    for (int fd : {0, 1, 2}) dup2(quiet, fd);
    for (int fd = 3; fd < 4096; ++fd) {
      if (fd != fds[0]) close(fd);  // `ready` too: the fuzzer may go on
    }
    char byte = 0;
    while (read(fds[0], &byte, 1) != 0 && errno == EINTR) {
    }
    empty_scratch(true);
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  while (read(ready[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(ready[0]);
  close(fds[0]);  // fds[1] stays open for the life of this process and its children
}

}  // namespace

ContainmentPlan plan_containment(const std::vector<std::string>& args, const std::string& cwd, bool off, bool engine) {
  ContainmentPlan plan;
  plan.args = args;
  if (off) {
    plan.why_not = "LUAHAMMER_CONTAIN=0";
    return plan;
  }
  bool artifacts = false;
  for (std::size_t i = 1; i < plan.args.size(); ++i) {
    std::string& arg = plan.args[i];
    if (arg.empty()) continue;
    if (arg[0] != '-') {  // a corpus folder or an input file
      arg = absolute(arg, cwd);
      if (is_folder(arg)) plan.writable.push_back(arg);
      continue;
    }
    if (arg.size() < 2 || arg[1] == '-') continue;  // the replay's own --options
    const auto eq = arg.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = arg.substr(1, eq - 1);
    std::string value = arg.substr(eq + 1);
    for (const char* parent : kParentFlags) {
      if (name == parent && value != "0") {  // the command line stays as given
        ContainmentPlan runs_children;
        runs_children.args = args;
        runs_children.parent = true;
        runs_children.why_not = "-" + name + "=" + value + " runs the inputs in child processes, each contained";
        return runs_children;
      }
    }
    for (const PathFlag& flag : kPathFlags) {
      if (name != flag.name || value.empty()) continue;
      value = absolute(value, cwd);
      arg = "-" + name + "=" + value;
      if (flag.use == PathUse::kFolder) plan.writable.push_back(value);
      if (flag.use == PathUse::kInFolder) plan.writable.push_back(folder_of(value));
      if (flag.use == PathUse::kPrefix) plan.writable.push_back(value.back() == '/' ? value : folder_of(value));
      if (name == "artifact_prefix" || name == "exact_artifact_path") artifacts = true;
    }
  }
  if (engine && !artifacts) {
    plan.args.push_back("-artifact_prefix=" + cwd + "/");
    plan.writable.push_back(cwd);
  }
  plan.contain = true;
  return plan;
}

bool contain_fuzzing(int* argc, char*** argv) {
  char here[PATH_MAX];
  if (getcwd(here, sizeof here) == nullptr) {
    std::fprintf(stderr, "luahammer containment: cannot read the current directory: %s\n", std::strerror(errno));
    std::exit(2);
  }
  const char* off = std::getenv("LUAHAMMER_CONTAIN");
  const ContainmentPlan plan =
      plan_containment(std::vector<std::string>(*argv, *argv + *argc), here,
                       off != nullptr && std::strcmp(off, "0") == 0, &LLVMFuzzerRunDriver != nullptr);
  if (!plan.contain) {
    std::fprintf(stderr, "luahammer containment: not contained: %s\n", plan.why_not.c_str());
    return !plan.parent;
  }
  // The rewritten command line lives as long as the process (libFuzzer keeps pointers).
  static std::vector<std::string> strings;
  static std::vector<char*> pointers;
  strings = plan.args;
  pointers.clear();
  for (std::string& arg : strings) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  *argc = static_cast<int>(strings.size());
  *argv = pointers.data();

  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/luahammer-scratch-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "luahammer containment: cannot make a scratch folder %s: %s\n", pattern.c_str(),
                 std::strerror(errno));
    std::exit(2);
  }
  std::vector<std::string> writable = plan.writable;
  writable.push_back(pattern);
  // Coverage builds write their profile at exit: to an absolute path, still writable.
  const char* profile = std::getenv("LLVM_PROFILE_FILE");
  if (&__llvm_profile_set_filename != nullptr) {
    const std::string file = absolute(profile != nullptr && *profile != '\0' ? profile : "default.profraw", here);
    static std::string kept;
    kept = file;
    __llvm_profile_set_filename(kept.c_str());
    writable.push_back(folder_of(file));
  }
  // The symbolizer is a program: started now, it keeps serving the reports to come.
  if (&__sanitizer_symbolize_pc != nullptr) {
    char name[256];
    __sanitizer_symbolize_pc(reinterpret_cast<char*>(&contain_fuzzing) + 1, "%f", name, sizeof name);
  }
  if (chdir(pattern.c_str()) != 0 || setenv("HOME", pattern.c_str(), 1) != 0 ||
      setenv("TMPDIR", pattern.c_str(), 1) != 0) {
    std::fprintf(stderr, "luahammer containment: cannot move into %s: %s\n", pattern.c_str(), std::strerror(errno));
    std::exit(2);
  }
  g_scratch = pattern;
  watch_scratch();
  const ContainmentResult result = contain_process(writable);
  std::string folders;
  for (const std::string& folder : plan.writable) folders += ", " + folder;
  std::fprintf(stderr, "luahammer containment: contained in %s (HOME, TMPDIR, current directory): %s%s%s%s%s%s\n",
               pattern.c_str(), result.files ? "writes only there" : "", result.files ? folders.c_str() : "",
               result.network ? "; no sockets" : "", result.programs ? "; no programs, no group kill" : "",
               result.not_contained.empty() ? "" : "; NOT contained: ", result.not_contained.c_str());
  return true;
}

void reset_scratch() {
  if (g_scratch.empty() || chdir(g_scratch.c_str()) != 0) return;
  empty_scratch(false);
}

}  // namespace luahammer
