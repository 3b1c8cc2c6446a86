// Claim: a contained process cannot write outside its writable folders, open a socket or
// start a program; each attempt is an error the code sees (EACCES), also through Lua's own
// io.open and os.execute, while writing inside, reading anywhere and plain Lua keep working.
// The confinement is for good, so each check runs in a child process.
#include <luahammer/module/containment.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <luahammer/core/random_bytes.hpp>
#include <luahammer/lua.hpp>
#include <luahammer/module/module_fuzz.hpp>

extern "C" void __sanitizer_symbolize_pc(void* pc, const char* fmt, char* out, std::size_t size) __attribute__((weak));
extern "C" __attribute__((noinline)) int luahammer_containment_marker() { return 7; }

namespace luahammer {
namespace {

// Bits of the child's exit status: what it saw.
enum : int {
  kWroteInside = 1,
  kWriteOutsideRefused = 2,
  kSocketRefused = 4,
  kExecRefused = 8,
  kReadOutside = 16,
  kFilesContained = 32,
  kLuaSawRefusals = 64,
  kCallsContained = 128,
};

std::string make_folder() {
  char name[] = "/tmp/luahammer-containment-XXXXXX";
  const char* made = mkdtemp(name);
  return made != nullptr ? made : "";
}

// In the child: contain, try each side effect, report in the exit status.
[[noreturn]] void contained_child(const std::string& scratch, const std::string& outside) {
  const ContainmentResult result = contain_process({scratch});
  int seen = (result.files ? kFilesContained : 0) | (result.network && result.programs ? kCallsContained : 0);
  const int inside = open((scratch + "/written").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (inside >= 0) seen |= kWroteInside;
  const int out = open((outside + "/written").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (out < 0 && errno == EACCES) seen |= kWriteOutsideRefused;
  if (open((outside + "/readable").c_str(), O_RDONLY | O_CLOEXEC) >= 0) seen |= kReadOutside;
  if (socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EACCES) seen |= kSocketRefused;
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  char* const envp[] = {nullptr};
  if (execve("/bin/true", argv, envp) < 0 && errno == EACCES) seen |= kExecRefused;
  // Lua's own libraries see the refusals as failures, not crashes.
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushstring(L, (outside + "/from-lua").c_str());
  lua_setglobal(L, "outside");
  const char* source =
      "local f, err = io.open(outside, 'w') "
      "local ok = os.execute('true') "
      "return f == nil and err:find('Permission denied', 1, true) ~= nil and not ok";
  if (luaL_dostring(L, source) == LUA_OK && lua_toboolean(L, -1)) seen |= kLuaSawRefusals;
  lua_close(L);
  _exit(seen);
}

TEST(Containment, WritesOutsideSocketsAndProgramsAreRefusedTheRestRuns) {
  const std::string scratch = make_folder();
  const std::string outside = make_folder();
  ASSERT_FALSE(scratch.empty() || outside.empty());
  {
    FILE* f = std::fopen((outside + "/readable").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) contained_child(scratch, outside);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the contained child died of a signal";
  const int seen = WEXITSTATUS(status);
  EXPECT_TRUE(seen & kWroteInside);
  EXPECT_TRUE(seen & kReadOutside);
  // Where the kernel lacks Landlock or seccomp (a container that filters them), that part
  // is reported as not contained, and only the rest is checked.
  if (seen & kCallsContained) {
    EXPECT_TRUE(seen & kSocketRefused);
    EXPECT_TRUE(seen & kExecRefused);
  } else {
    std::printf("containment: no seccomp filter here; sockets and programs are not contained\n");
  }
  // Nothing was written outside, whatever the child saw.
  EXPECT_NE(access((outside + "/from-lua").c_str(), F_OK), 0);
  if (seen & kFilesContained) {
    EXPECT_TRUE(seen & kWriteOutsideRefused);
    if (seen & kCallsContained) EXPECT_TRUE(seen & kLuaSawRefusals);
    EXPECT_NE(access((outside + "/written").c_str(), F_OK), 0);
  } else {
    std::printf("containment: this kernel has no Landlock; writes outside are not contained here\n");
  }
  std::remove((scratch + "/written").c_str());
  std::remove((outside + "/written").c_str());
  std::remove((outside + "/readable").c_str());
  rmdir(scratch.c_str());
  rmdir(outside.c_str());
}

// The same child without containment does each of them: the test above can fail.
TEST(Containment, WithoutItTheSameSideEffectsHappen) {
  const std::string outside = make_folder();
  ASSERT_FALSE(outside.empty());
  const int out = open((outside + "/written").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  EXPECT_GE(out, 0);
  if (out >= 0) close(out);
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(s, 0);
  if (s >= 0) close(s);
  std::remove((outside + "/written").c_str());
  rmdir(outside.c_str());
}

// The plan a fuzzing process is contained by, from its command line.
TEST(ContainmentPlan, PathsMadeAbsoluteTheEnginesFoldersWritableCrashFilesKeptInTheCurrentFolder) {
  const std::string corpus = make_folder();
  ASSERT_FALSE(corpus.empty());
  const std::string parent = corpus.substr(0, corpus.rfind('/'));
  const std::string name = corpus.substr(corpus.rfind('/') + 1);
  const ContainmentPlan plan = plan_containment(
      {"fuzzer", name, "-dict=x.dict", "-runs=5", "input-file", "-merge_control_file=ctl/f"}, parent, false, true);
  EXPECT_TRUE(plan.contain);
  EXPECT_EQ(plan.args, (std::vector<std::string>{"fuzzer", corpus, "-dict=" + parent + "/x.dict", "-runs=5",
                                                 parent + "/input-file", "-merge_control_file=" + parent + "/ctl/f",
                                                 "-artifact_prefix=" + parent + "/"}));
  EXPECT_EQ(plan.writable, (std::vector<std::string>{corpus, parent + "/ctl", parent}));
  // A replay writes no crash files: the current folder stays closed.
  const ContainmentPlan replay = plan_containment({"replay", "--explain", "in"}, "/w", false, false);
  EXPECT_TRUE(replay.contain);
  EXPECT_EQ(replay.args, (std::vector<std::string>{"replay", "--explain", "/w/in"}));
  EXPECT_TRUE(replay.writable.empty());
  // Crash files where the user asked for them: that folder, not the current one.
  const ContainmentPlan prefixed = plan_containment({"f", "-artifact_prefix=out/crash-"}, "/w", false, true);
  EXPECT_EQ(prefixed.writable, (std::vector<std::string>{"/w/out"}));
  EXPECT_EQ(prefixed.args.back(), "-artifact_prefix=/w/out/crash-");
  rmdir(corpus.c_str());
}

TEST(ContainmentPlan, AParentThatRunsChildProcessesOrAUserWhoSaysNoIsNotContained) {
  for (const char* flag : {"-fork=2", "-jobs=4", "-workers=2", "-merge=1", "-minimize_crash=1"}) {
    const ContainmentPlan plan = plan_containment({"f", "corpus", flag}, "/w", false, true);
    EXPECT_FALSE(plan.contain) << flag;
    EXPECT_TRUE(plan.parent) << flag;
    EXPECT_NE(plan.why_not.find(flag), std::string::npos) << plan.why_not;
    EXPECT_EQ(plan.args, (std::vector<std::string>{"f", "corpus", flag}));  // untouched
  }
  EXPECT_TRUE(plan_containment({"f", "-fork=0", "-merge_inner=1"}, "/w", false, true).contain);
  const ContainmentPlan off = plan_containment({"f"}, "/w", true, true);
  EXPECT_FALSE(off.contain);
  EXPECT_FALSE(off.parent);  // it runs its inputs itself, uncontained
  EXPECT_EQ(off.why_not, "LUAHAMMER_CONTAIN=0");
}

// A module that touches the world, as lua-posix or LuaSocket do.
int side_write(lua_State* L) {
  const char* path = luaL_checkstring(L, 1);
  std::FILE* f = std::fopen(path, "w");
  if (f == nullptr) return luaL_fileresult(L, 0, path);
  std::fputs("written", f);
  std::fclose(f);
  lua_pushboolean(L, 1);
  return 1;
}
int side_connect(lua_State* L) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return luaL_fileresult(L, 0, "socket");
  close(s);
  lua_pushboolean(L, 1);
  return 1;
}
int side_spawn(lua_State* L) {
  pid_t pid = 0;
  char* const argv[] = {const_cast<char*>("true"), nullptr};
  const int failed = posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ);
  if (failed != 0) {
    errno = failed;
    return luaL_fileresult(L, 0, "/bin/true");
  }
  int status = 0;
  waitpid(pid, &status, 0);
  lua_pushboolean(L, 1);
  return 1;
}
int side_signal_group(lua_State* L) {  // signal 0: only asks whether it could
  return luaL_fileresult(L, kill(0, 0) == 0, "kill(0)");
}
int open_side_effects(lua_State* L) {
  const luaL_Reg functions[] = {{"write", side_write},
                                {"connect", side_connect},
                                {"spawn", side_spawn},
                                {"signal_group", side_signal_group},
                                {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

// In the child: contained as a module fuzzer is, what the module managed, one fact a line.
[[noreturn]] void fuzzing_child(const std::string& corpus, const std::string& outside, int report) {
  std::vector<std::string> args = {"module_side_fuzzer", corpus};
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  int argc = 2;
  char** argv = pointers.data();
  const int err = open("/dev/null", O_WRONLY);
  const int saved = dup(2);
  dup2(err, 2);  // the "contained in" line
  contain_fuzzing(&argc, &argv);
  dup2(saved, 2);
  std::ostringstream facts;
  char here[4096];
  const std::string scratch = getcwd(here, sizeof here) != nullptr ? here : "";
  facts << "scratch " << scratch << "\n";
  const char* home = std::getenv("HOME");
  const char* tmp = std::getenv("TMPDIR");
  if (home != nullptr && tmp != nullptr && scratch == home && scratch == tmp) facts << "home\n";
  if (argc == 2 && argv[1] == corpus) facts << "argv\n";
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "side", open_side_effects, 1);
  lua_pop(L, 1);
  lua_pushstring(L, (outside + "/written").c_str());
  lua_setglobal(L, "outside");
  const char* checks[][2] = {
      {"refused_outside", "local ok, err = side.write(outside) return not ok and err:find('Permission denied') ~= nil"},
      {"written_inside", "return side.write('here') == true and io.open('here'):read('a') == 'written'"},
      {"refused_socket", "local ok, err = side.connect() return not ok and err:find('Permission denied') ~= nil"},
      {"refused_spawn", "local ok, err = side.spawn() return not ok and err:find('Permission denied') ~= nil"},
      {"refused_group_signal", "local ok, err = side.signal_group() return not ok and err:find('Permission') ~= nil"},
  };
  for (const auto& check : checks) {
    if (luaL_dostring(L, check[1]) == LUA_OK && lua_toboolean(L, -1)) facts << check[0] << "\n";
    lua_settop(L, 0);
  }
  lua_close(L);
  reset_scratch();
  if (access((scratch + "/here").c_str(), F_OK) != 0) facts << "reset\n";
  if (&__sanitizer_symbolize_pc != nullptr) {
    char name[256] = "";
    // The pc is taken for a return address (one byte back): one byte into the function.
    __sanitizer_symbolize_pc(reinterpret_cast<char*>(&luahammer_containment_marker) + 1, "%f", name, sizeof name);
    facts << "symbolized " << name << "\n";
  }
  // Fuzzed as the module fuzzer does: every input ends without a finding (one would abort).
  std::mt19937_64 rng(11);
  const ModuleSpec module{"side", open_side_effects};
  for (int i = 0; i < 200; ++i) {
    reset_scratch();
    const std::vector<std::uint8_t> input = random_bytes(rng, 64 + rng() % 256);
    run_module_input(module, input.data(), input.size());
  }
  facts << "fuzzed\n";
  const std::string text = facts.str();
  if (write(report, text.data(), text.size()) < 0) _exit(3);
  std::exit(0);  // the scratch folder is removed at exit
}

TEST(Containment, AModuleFuzzedContainedWritesOnlyInItsScratchFolderAndIsNeverAFinding) {
  const std::string corpus = make_folder();
  const std::string outside = make_folder();
  ASSERT_FALSE(corpus.empty() || outside.empty());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    fuzzing_child(corpus, outside, fds[1]);
  }
  close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the contained fuzzing child failed: " << status;
  std::set<std::string> facts;
  std::istringstream lines(text);
  std::string scratch;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("scratch ", 0) == 0) scratch = line.substr(8);
    facts.insert(line);
  }
  EXPECT_EQ(scratch.rfind("/tmp/luahammer-scratch-", 0) == 0 || std::getenv("TMPDIR") != nullptr, true) << scratch;
  for (const char* fact : {"home", "argv", "written_inside", "reset", "fuzzed"}) EXPECT_TRUE(facts.count(fact)) << fact;
  // Refused, whatever the kernel offers: nothing was written outside.
  EXPECT_NE(access((outside + "/written").c_str(), F_OK), 0);
  // Removed once the process ended, by the watcher it started before it was contained.
  for (int waited = 0; waited < 100 && access(scratch.c_str(), F_OK) == 0; ++waited) usleep(50000);
  EXPECT_NE(access(scratch.c_str(), F_OK), 0) << "the scratch folder outlived the process";
  // This machine kind has Landlock and seccomp (the other test says when a kernel lacks them).
  const bool landlock = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1) >= 1;  // 1: ask the version
  if (landlock) EXPECT_TRUE(facts.count("refused_outside"));
  for (const char* fact : {"refused_socket", "refused_spawn", "refused_group_signal"}) {
    EXPECT_TRUE(facts.count(fact)) << fact;
  }
  // Reports still name functions: the symbolizer was started before programs were refused.
  if (&__sanitizer_symbolize_pc != nullptr) EXPECT_TRUE(facts.count("symbolized luahammer_containment_marker"));
  rmdir(corpus.c_str());
  rmdir(outside.c_str());
}

TEST(Containment, AFuzzerKilledWithItsWholeProcessGroupLeavesNoScratchFolder) {
  // What a timeout or a campaign script does to a fuzzer (kill -KILL -- -group): the watcher
  // must not be in that group, or the scratch folder stays behind.
  const std::string corpus = make_folder();
  ASSERT_FALSE(corpus.empty());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    setpgid(0, 0);
    std::vector<std::string> args = {"module_side_fuzzer", corpus};
    std::vector<char*> pointers = {args[0].data(), args[1].data(), nullptr};
    int argc = 2;
    char** argv = pointers.data();
    const int err = open("/dev/null", O_WRONLY);
    dup2(err, 2);
    contain_fuzzing(&argc, &argv);
    char here[4096];
    const std::string scratch = getcwd(here, sizeof here) != nullptr ? std::string(here) + "\n" : "\n";
    if (write(fds[1], scratch.data(), scratch.size()) < 0) _exit(3);
    for (;;) pause();
  }
  close(fds[1]);
  std::string scratch;
  char buffer[4096];
  for (ssize_t n; scratch.find('\n') == std::string::npos && (n = read(fds[0], buffer, sizeof buffer)) > 0;)
    scratch.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  if (!scratch.empty()) scratch.pop_back();
  ASSERT_EQ(kill(-child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_FALSE(scratch.empty()) << "the child said no scratch folder";
  for (int waited = 0; waited < 100 && access(scratch.c_str(), F_OK) == 0; ++waited) usleep(50000);
  EXPECT_NE(access(scratch.c_str(), F_OK), 0) << scratch << " outlived the killed process group";
  rmdir(corpus.c_str());
}

}  // namespace
}  // namespace luahammer
