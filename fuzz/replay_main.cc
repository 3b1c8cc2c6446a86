// Standalone replay for builds without libFuzzer (tsan, gcc, coverage): runs
// LLVMFuzzerTestOneInput over files and folders of inputs.
// usage: <target>_replay [--explain] [--check-decoding] [--keep-going] [--shapes | --shapes-tsv FILE] PATH…
// Inputs are regular files of at most kMaxInputBytes (a FIFO or a device is refused, never
// read until it ends); a path that cannot be read is a usage error (exit 2), not "no finding".
// --check-decoding: an input F with a sibling F.explain (its decoding when it was
// recorded) must still decode to exactly that, or the replay stops with exit status 1: a
// change of the input format would otherwise turn a reproducer into a different program.
// --keep-going: each input runs in a child process forked after the target's
// initialization, so an input that ends in a finding (a sanitizer report, an oracle's abort,
// a crash) is named and the replay goes on with the next; the exit status is 1 if any did.
// Figures printed per input (--explain's argument checks) then cover the whole folder.
// --shapes (op-program targets): after the last input, which cells of the shape table
// (harness/opvm/include/luahammer/opvm/shapes.def) the inputs reached, and by how many;
// --shapes-tsv FILE: the same cells appended to FILE as "op, dimension, value, inputs"
// lines, for summing replays (ci/coverage.sh).
// --slowest N: after the last input, the N inputs that took the most CPU time (the whole
// process's, helper threads included), each with its share of the replay's total: where a
// fuzzer's executions go (docs/performance.md).
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
std::string luahammer_fuzz_explain(const std::uint8_t* data, std::size_t size);
// Op-program targets define these (fuzz_target.hpp); others do not, so they are weak here.
void luahammer_fuzz_enable_shapes() __attribute__((weak));
std::string luahammer_fuzz_shape_report() __attribute__((weak));
std::string luahammer_fuzz_shape_tsv() __attribute__((weak));

namespace {

constexpr long long kMaxInputBytes = 64LL * 1024 * 1024;

// The target's initialization may change the current directory (a contained module fuzzer
// runs in a scratch folder): paths are made absolute before it.
std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char here[4096];
  return getcwd(here, sizeof here) != nullptr ? std::string(here) + "/" + path : path;
}

bool collect(const std::string& path, std::vector<std::string>& files) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return false;
  if (S_ISDIR(info.st_mode)) {
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) return false;
    std::vector<std::string> names;
    while (dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      const bool snapshot = name.size() > 8 && name.compare(name.size() - 8, 8, ".explain") == 0;
      if (name[0] != '.' && !snapshot) names.emplace_back(name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (!collect(path + "/" + name, files)) return false;
    }
  } else if (S_ISREG(info.st_mode)) {
    if (info.st_size > kMaxInputBytes) {
      std::fprintf(stderr, "replay: '%s' is larger than %lld bytes: not an input\n", path.c_str(), kMaxInputBytes);
      return false;
    }
    files.push_back(path);
  } else {
    std::fprintf(stderr, "replay: '%s' is neither a regular file nor a folder\n", path.c_str());
    return false;
  }
  return true;
}

double cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

void replay_one(const std::string& file, const std::vector<std::uint8_t>& bytes, bool explain) {
  if (explain) {
    // The name first: a module target prints its steps as they run, inside the call.
    std::printf("== %s (%zu bytes)\n", file.c_str(), bytes.size());
    std::fflush(stdout);
    std::printf("%s", luahammer_fuzz_explain(bytes.data(), bytes.size()).c_str());
    std::fflush(stdout);
  }
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  bool explain = false;
  bool check_decoding = false;
  bool keep_going = false;
  bool shapes = false;
  std::size_t slowest = 0;
  std::string shapes_tsv;
  std::vector<std::string> files;
  int paths = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--explain") {
      explain = true;
    } else if (arg == "--check-decoding") {
      check_decoding = true;
    } else if (arg == "--keep-going") {
      keep_going = true;
    } else if (arg == "--shapes") {
      shapes = true;
    } else if (arg == "--shapes-tsv") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "replay: --shapes-tsv needs a file name\n");
        return 2;
      }
      shapes_tsv = absolute(argv[++i]);
    } else if (arg == "--slowest") {
      const std::string count = i + 1 < argc ? argv[i + 1] : "";
      if (count.empty() || count.size() > 6 || count.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(count) == 0) {
        std::fprintf(stderr, "replay: --slowest needs a count of inputs (1 to 999999)\n");
        return 2;
      }
      slowest = std::stoul(count);
      ++i;
    } else if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: %s [--explain] [--check-decoding] [--keep-going] [--shapes | --shapes-tsv FILE] [--slowest N] "
          "PATH...\n"
          "  replays each input file (folders recursively);\n"
          "  --check-decoding: an input F with a sibling F.explain must still decode to it\n"
          "  --keep-going: each input in a child process; one ending in a finding is named and the\n"
          "    replay goes on (exit status 1 if any did)\n"
          "  --shapes: then the cells of the shape table the inputs reached (op-program targets)\n"
          "  --shapes-tsv FILE: those cells appended to FILE, a line each\n"
          "  --slowest N: then the N inputs that took the most CPU time, with their share\n",
          argv[0]);
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "replay: unknown option '%s' (see --help)\n", arg.c_str());
      return 2;
    } else if (++paths, !collect(arg, files)) {
      std::fprintf(stderr, "replay: cannot replay '%s' (see the line above, if any)\n", arg.c_str());
      return 2;
    }
  }
  if (!shapes_tsv.empty()) shapes = true;
  if (slowest > 0 && keep_going) {
    std::fprintf(stderr, "replay: --slowest times inputs in one process: it does not go with --keep-going\n");
    return 2;
  }
  if (shapes && (keep_going || luahammer_fuzz_shape_report == nullptr)) {
    std::fprintf(stderr, "replay: --shapes %s\n",
                 keep_going ? "counts in one process: it does not go with --keep-going"
                            : "is for op-program targets: this target records no shapes");
    return 2;
  }
  if (paths == 0) {
    std::fprintf(stderr,
                 "replay: no input given (usage: %s [--explain] [--check-decoding] [--keep-going] [--shapes | "
                 "--shapes-tsv FILE] [--slowest N] PATH...)\n",
                 argv[0]);
    return 2;
  }
  std::vector<std::string> opened;  // each file's absolute path; messages name it as given
  for (const auto& file : files) opened.push_back(absolute(file));
  LLVMFuzzerInitialize(&argc, &argv);
  if (shapes) luahammer_fuzz_enable_shapes();
  std::size_t findings = 0;
  std::vector<std::pair<double, std::size_t>> times;  // CPU seconds, index in files
  for (std::size_t k = 0; k < files.size(); ++k) {
    const std::string& file = files[k];
    std::ifstream in(opened[k], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: cannot read '%s'\n", file.c_str());
      return 2;
    }
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (check_decoding) {
      std::ifstream snapshot(opened[k] + ".explain", std::ios::binary);
      if (snapshot) {
        const std::string recorded((std::istreambuf_iterator<char>(snapshot)), std::istreambuf_iterator<char>());
        if (recorded != luahammer_fuzz_explain(bytes.data(), bytes.size())) {
          std::fprintf(stderr,
                       "replay: %s no longer decodes as %s.explain records (the input format changed): re-derive "
                       "the reproducer, or refresh the snapshot with --explain if it still reproduces\n",
                       file.c_str(), file.c_str());
          return 1;
        }
      }
    }
    if (keep_going) {
      std::fflush(stdout);
      std::fflush(stderr);
      const pid_t child = fork();
      if (child < 0) {
        std::fprintf(stderr, "replay: cannot fork to replay '%s'\n", file.c_str());
        return 2;
      }
      if (child == 0) {
        replay_one(file, bytes, explain);
        std::fflush(stdout);
        _exit(0);
      }
      int status = 0;
      while (waitpid(child, &status, 0) < 0) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ++findings;
        if (WIFSIGNALED(status)) {
          std::printf("replay: %s: a finding (signal %d)\n", file.c_str(), WTERMSIG(status));
        } else {
          std::printf("replay: %s: a finding (exit status %d)\n", file.c_str(), WEXITSTATUS(status));
        }
        std::fflush(stdout);
      }
      continue;
    }
    const double start = slowest > 0 ? cpu_seconds() : 0.0;
    replay_one(file, bytes, explain);
    if (slowest > 0) times.emplace_back(cpu_seconds() - start, k);
  }
  if (findings > 0) {
    std::printf("replayed %zu input(s): %zu ended in a finding\n", files.size(), findings);
    return 1;
  }
  if (shapes && !shapes_tsv.empty()) {
    std::FILE* out = std::fopen(shapes_tsv.c_str(), "a");
    if (out == nullptr) {
      std::fprintf(stderr, "replay: cannot append to '%s'\n", shapes_tsv.c_str());
      return 2;
    }
    std::fputs(luahammer_fuzz_shape_tsv().c_str(), out);
    std::fclose(out);
  } else if (shapes) {
    std::printf("%s", luahammer_fuzz_shape_report().c_str());
  }
  if (slowest > 0 && !times.empty()) {
    double total = 0;
    for (const auto& [seconds, k] : times) total += seconds;
    const std::size_t shown = std::min(slowest, times.size());
    std::partial_sort(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(shown), times.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    double top = 0;
    for (std::size_t j = 0; j < shown; ++j) top += times[j].first;
    std::printf("CPU time: %.3f s over %zu input(s), %.3f ms each on average; the %zu slowest, %.1f%% of it:\n", total,
                times.size(), 1e3 * total / static_cast<double>(times.size()), shown,
                total > 0 ? 100.0 * top / total : 0.0);
    for (std::size_t j = 0; j < shown; ++j) {
      std::printf("%9.3f ms %5.1f%%  %s\n", 1e3 * times[j].first, total > 0 ? 100.0 * times[j].first / total : 0.0,
                  files[times[j].second].c_str());
    }
  }
  std::printf("replayed %zu input(s): no finding\n", files.size());
  return 0;
}
