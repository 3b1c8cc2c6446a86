"""Tests of the nightly campaign's own logic (ci/campaign/): signatures, finding storage, reports, arguments.
The fuzzing itself is exercised by the canary runs (docs/canaries.md, README)."""

import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import campaign as nightly  # noqa: E402  (the package behind ci/luahammer)
from campaign import command, history  # noqa: E402

ROOT = nightly.ROOT


def report(first_line, *frames):
    lines = ["INFO: Seed: 1", f"==4242=={first_line}"]
    lines += [f"    #{i} 0x{0x1000 + i:x} in {f} {p if p.startswith('/') else ROOT + '/' + p}:{10 + i}:3"
              for i, (f, p) in enumerate(frames)]
    return "\n".join(lines) + "\n"


GUARD = ("cxxlua::StackGuard::~StackGuard()", "binding/include/cxxlua/stack_guard.hpp")
REGISTER = ("cxxlua::detail::register_userdata_type(cxxlua::StateCore&, lua_State*)", "binding/src/userdata.cc")


def register_type(arg):
    return (f"void cxxlua::StateHandle::register_type<luahammer::{arg}>(std::string) const",
            "binding/include/cxxlua/cxxlua.hpp")


class Signatures(unittest.TestCase):
    def test_template_arguments_and_numbers_do_not_split_a_bug(self):
        a = nightly.signature(report("cxxlua: stack imbalance in register_type: 1 value too many popped",
                                     GUARD, REGISTER, register_type("Probe")))
        b = nightly.signature(report("cxxlua: stack imbalance in register_type: 2 value too many popped",
                                     GUARD, REGISTER, register_type("Fragile")))
        self.assertEqual(a[0], b[0])
        self.assertTrue(a[0].startswith("cxxlua-stack-imbalance-in-register-type"))
        self.assertEqual(a[2], ["cxxlua::detail::register_userdata_type", "void cxxlua::StateHandle::register_type"])

    def test_different_first_lines_or_frames_are_different_bugs(self):
        base = nightly.signature(report("luahammer: references: 1 registry slot(s) still live", REGISTER))
        other_line = nightly.signature(report("luahammer: finalizers: Probe #1 destroyed twice", REGISTER))
        other_frame = nightly.signature(report("luahammer: references: 1 registry slot(s) still live",
                                               ("cxxlua::Reference::drop()", "binding/src/value.cc")))
        self.assertNotEqual(base[0], other_line[0])
        self.assertNotEqual(base[0], other_frame[0])

    def test_a_user_module_bug_is_one_signature_whichever_harness_step_called_it(self):
        # A binding fuzzed from its own repository: its sources are outside this checkout.
        # Found once by a plain call and once inside a coroutine: one bug, one signature.
        module = ("bytes_reverse", "/home/maintainer/bytes/src/bytes.c")
        libc = ("__interceptor_memcpy", "/usr/lib/gcc/x86_64-linux-gnu/12/memcpy.c")
        line = "ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000 at pc 0x55 bp 0x7f"
        a = nightly.signature(report(line, libc, module, ("luahammer::step_call(lua_State*)",
                                                          "harness/module/src/module_fuzz.cc")))
        b = nightly.signature(report(line, module, ("luahammer::step_coroutine(lua_State*)",
                                                    "harness/module/src/module_fuzz.cc")))
        self.assertEqual(a[0], b[0])
        self.assertEqual(a[2], ["bytes_reverse"])
        other = nightly.signature(report(line, ("bytes_pad", "/home/maintainer/bytes/src/bytes.c")))
        self.assertNotEqual(a[0], other[0])

    def test_a_fetched_module_bug_is_one_signature_whichever_step_called_it_or_with_what_number(self):
        # lua-filesystem under third_party/modules/, called plainly and inside a coroutine;
        # a float the input chose in the first line.
        module = ("file_utime", "third_party/modules/lua-filesystem/src/lfs.c")
        line = "lfs.c:828:18: runtime error: {} is outside the range of representable values of type 'long'"
        a = nightly.signature(report(line.format("-1.23371e+308"), module,
                                     ("luahammer::step_call(lua_State*)", "harness/module/src/module_fuzz.cc")))
        b = nightly.signature(report(line.format("1e+308"), module,
                                     ("luahammer::step_coroutine(lua_State*)", "harness/module/src/module_fuzz.cc")))
        c = nightly.signature(report(line.format("2.5"), module))
        self.assertEqual(a[0], b[0])
        self.assertEqual(a[0], c[0])
        self.assertEqual(a[2], ["file_utime"])

    def test_the_containment_line_of_a_module_fuzzer_is_not_its_report(self):
        # Every contained process prints it first, with a scratch folder of its own: were it
        # the report line, each crash would be a bug of its own.
        contained = ("luahammer containment: contained in /tmp/luahammer-scratch-14arNr (HOME, TMPDIR, current "
                     "directory): writes only there; no sockets; no programs, no group kill\n")
        line = "lfs.c:696:11: runtime error: member access within null pointer of type 'dir_data'"
        module = ("dir_close", "/home/maintainer/lfs/src/lfs.c")
        a = nightly.signature(contained + report(line, module))
        b = nightly.signature(contained.replace("14arNr", "r0RleA") + report(line, module))
        self.assertEqual(a, b)
        self.assertIn("runtime-error", a[0])

    def test_a_harness_frame_compiled_in_another_clone_is_still_the_harness(self):
        # ccache hands back objects built in another clone of luahammer: their debug
        # information names that clone's paths. Read as a user's code, the harness step
        # would split one module bug into two signatures (found by CI's example campaign).
        module = ("bytes_reverse", "examples/c-module/src/bytes.c")
        line = "ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000 at pc 0x55 bp 0x7f"
        elsewhere = "/tmp/another-clone/build/examples/c-module/../../../harness/module/src/module_fuzz.cc"
        a = nightly.signature(report(line, module, ("luahammer::step_call(lua_State*)", elsewhere)))
        b = nightly.signature(report(line, module, ("luahammer::step_coroutine(lua_State*)", elsewhere)))
        self.assertEqual(a[0], b[0])
        self.assertEqual(a[2], ["bytes_reverse"])
        # A user's own file that this checkout does not have stays the user's.
        theirs = nightly.signature(report(line, ("helper", "/home/maintainer/bytes/harness/helper.c")))
        self.assertEqual(theirs[2], ["helper"])

    def test_sanitizer_reports_lose_addresses_and_pids(self):
        a = nightly.signature(report("ERROR: AddressSanitizer: heap-use-after-free on address 0x602000 at pc 0x55 bp 0x7f",
                                     REGISTER))
        b = nightly.signature(report("ERROR: AddressSanitizer: heap-use-after-free on address 0x603abc at pc 0x66 bp 0x7e",
                                     REGISTER))
        self.assertEqual(a[0], b[0])
        self.assertIn("addresssanitizer-heap-use-after-free", a[0])

    def test_no_report_line_is_no_signature(self):
        self.assertIsNone(nightly.signature("INFO: Seed: 1\nDone 1 runs\n")[0])


FAKE_FUZZER = textwrap.dedent(f"""\
    #!/usr/bin/env python3
    # Stands in for a libFuzzer binary: inputs starting with A or B "crash", others pass.
    import sys
    path = [a for a in sys.argv[1:] if not a.startswith('-')][-1]
    data = open(path, 'rb').read()
    if data.startswith(b'A'):
        print('luahammer: stack: 1 value(s) left on the main thread')
        print('    #0 0x1 in cxxlua::f() {ROOT}/binding/src/a.cc:1:1')
        sys.exit(1)
    if data.startswith(b'E'):
        print('luahammer: budget escape: input ran past 10.0 s of CPU time (not a finding: ...)')
        print('    #0 0x1 in somewhere{{}}() {ROOT}/harness/x.cc:1:1')
        sys.exit(1)
    if data.startswith(b'B'):
        print('==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1 at pc 0x2')
        print('    #0 0x1 in cxxlua::g() {ROOT}/binding/src/b.cc:1:1')
        sys.exit(1)
    """)


class FakeTarget:
    def __init__(self, tmp):
        self.name = "fake"
        self.binary = os.path.join(tmp, "fake_fuzzer")
        with open(self.binary, "w") as f:
            f.write(FAKE_FUZZER)
        os.chmod(self.binary, os.stat(self.binary).st_mode | stat.S_IEXEC)
        self.replay = os.path.join(tmp, "fake_replay")
        self.options = {"timeout": "5"}
        self.artifacts = os.path.join(tmp, "artifacts")
        self.crashes = os.path.join(tmp, "out", "crashes", "fake")
        os.makedirs(self.artifacts)
        os.makedirs(self.crashes)

    def flags(self, *keys):
        return nightly.Target.flags(self, *keys)


class Args:
    def __init__(self, out):
        self.out = out


class Findings(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.target = FakeTarget(self.tmp)
        self.args = Args(os.path.join(self.tmp, "out"))
        self.state = {"id": "test-run"}

    def artifact(self, name, data):
        with open(os.path.join(self.target.artifacts, name), "wb") as f:
            f.write(data)

    def test_unique_findings_are_stored_once_and_duplicates_counted(self):
        self.artifact("crash-1", b"A first")
        self.artifact("crash-2", b"A second, same bug")
        self.artifact("crash-3", b"B another bug")
        new = nightly.process_artifacts(self.target, self.args, self.state)
        self.assertEqual(len(new), 2)
        self.assertEqual(os.listdir(self.target.artifacts), [])  # all turned into findings
        stored = sorted(os.listdir(self.target.crashes))
        self.assertEqual(len(stored), 2)
        infos = [nightly.read_json(os.path.join(self.target.crashes, s, "info.json"), None) for s in stored]
        counts = sorted(i["count"] for i in infos)
        self.assertEqual(counts, [1, 2])
        for s, info in zip(stored, infos):
            self.assertTrue(info["confirmed"])
            self.assertTrue(os.path.exists(os.path.join(self.target.crashes, s, "input")))
            self.assertTrue(os.path.exists(os.path.join(self.target.crashes, s, "report.txt")))
        # A second pass (a rerun) finds nothing new and loses nothing.
        self.assertEqual(nightly.process_artifacts(self.target, self.args, self.state), [])
        self.assertEqual(sorted(os.listdir(self.target.crashes)), stored)

    def test_a_known_finding_is_suppressed_counted_and_reported_and_the_rest_goes_on(self):
        self.artifact("crash-1", b"A first")
        [known_sig] = nightly.process_artifacts(self.target, self.args, self.state)
        # A second campaign folder whose known-findings file names that signature.
        self.args = Args(os.path.join(self.tmp, "out2"))
        known_file = os.path.join(self.tmp, "known-findings.txt")
        with open(known_file, "w") as f:
            f.write(f"# reported upstream, fix pending\n\n{known_sig} stack leak, upstream #123\n")
        self.args.known = nightly.read_known(known_file)
        self.target.crashes = os.path.join(self.args.out, "crashes", "fake")
        os.makedirs(self.target.crashes)
        self.artifact("crash-2", b"A again")
        self.artifact("crash-3", b"A and again")
        self.artifact("crash-4", b"B another bug")
        new = nightly.process_artifacts(self.target, self.args, self.state)
        self.assertEqual(len(new), 1)
        self.assertNotIn(known_sig, new)
        [suppressed] = nightly.collect_suppressed(self.args.out)
        self.assertEqual((suppressed["signature"], suppressed["count"], suppressed["reason"]),
                         (known_sig, 2, "stack leak, upstream #123"))
        state = {"id": "test-run", "preset": "fuzz", "minutes": 1, "complete": True, "new_findings": new,
                 "targets": {"fake": {"status": "done", "series": []}}}
        nightly.write_reports(self.args, state)
        page = open(os.path.join(self.args.out, "report.html")).read()
        self.assertIn("stack leak, upstream #123", page)

    def test_a_known_finding_without_a_reason_is_one_clear_error(self):
        path = os.path.join(self.tmp, "known.txt")
        with open(path, "w") as f:
            f.write("some-signature-0123456789\n")
        with self.assertRaisesRegex(nightly.Fatal, "known.txt:1: a known finding needs a reason"):
            nightly.read_known(path)

    def test_an_input_that_does_not_reproduce_is_kept_aside(self):
        self.artifact("crash-9", b"passes now")
        self.assertEqual(nightly.process_artifacts(self.target, self.args, self.state), [])
        kept = os.path.join(self.target.crashes, "unreproduced")
        self.assertEqual(sorted(os.listdir(kept)), ["crash-9", "crash-9.report.txt"])

    def test_reports_carry_the_plot_and_the_findings(self):
        self.artifact("crash-1", b"A first")
        nightly.process_artifacts(self.target, self.args, self.state)
        state = {"id": "test-run", "preset": "fuzz", "minutes": 1, "complete": True, "new_findings": ["x"],
                 "targets": {"fake": {"status": "done", "seconds": 60, "corpus_files": 3, "unique_findings": 1,
                                      "series": [{"t": 1, "cov": 10, "exec_s": 5},
                                                 {"t": 60, "cov": 30, "exec_s": 7}]}}}
        nightly.write_reports(self.args, state)
        page = open(os.path.join(self.args.out, "report.html")).read()
        self.assertIn("<polyline", page)
        self.assertIn("luahammer: stack: 1 value(s) left on the main thread", page)
        self.assertNotIn("http://", page.replace('xmlns="http://www.w3.org/2000/svg"', ""))
        summary = json.load(open(os.path.join(self.args.out, "summary.json")))
        self.assertEqual(len(summary["findings"]), 1)


class History(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.target = FakeTarget(self.tmp)
        self.args = Args(os.path.join(self.tmp, "out"))

    def night(self, run_id, cov, exec_s):
        return {"id": run_id, "preset": "fuzz", "minutes": 1, "complete": True, "new_findings": [],
                "targets": {"fake": {"status": "done", "seconds": 60, "corpus_files": 3, "unique_findings": 0,
                                     "series": [{"t": 60, "cov": cov, "exec_s": exec_s}]}}}

    def test_a_finding_not_seen_tonight_is_known_while_it_crashes_and_fixed_once_it_passes(self):
        with open(os.path.join(self.target.artifacts, "crash-1"), "wb") as f:
            f.write(b"A first")
        [sig] = nightly.process_artifacts(self.target, self.args, {"id": "20260101-000000"})
        folder = os.path.join(self.target.crashes, sig)
        tonight = self.night("29991231-000000", 10, 5)
        history.check_known_findings(self.args.out, {"fake": self.target}, tonight)
        info = nightly.read_json(os.path.join(folder, "info.json"), None)
        self.assertEqual(history.status_of(info, tonight), "known")
        with open(os.path.join(folder, "input"), "wb") as f:
            f.write(b"passes on the fixed build")
        history.check_known_findings(self.args.out, {"fake": self.target}, tonight)
        info = nightly.read_json(os.path.join(folder, "info.json"), None)
        self.assertEqual(info["fixed_in"], "29991231-000000")
        self.assertEqual(history.status_of(info, tonight), "fixed")
        nightly.write_reports(self.args, tonight)
        page = open(os.path.join(self.args.out, "report.html")).read()
        self.assertIn("fixed in 29991231-000000", page)
        self.assertIn(f'href="crashes/fake/{sig}/input"', page)
        # Tonight's new finding is "new", whatever its input does.
        tonight["new_findings"] = [sig]
        self.assertEqual(history.status_of(info, tonight), "new")

    def test_a_module_corpus_gives_the_calls_past_each_argument_check(self):
        with open(self.target.replay, "w") as f:
            f.write(textwrap.dedent("""\
                #!/bin/sh
                # --explain over a corpus of two inputs: each ends with its argument checks.
                printf 'step 1:\\nargument checks (calls past the check / calls):\\n  m.f: 1/2\\n  m.g: 0/1\\n'
                printf 'step 1:\\nargument checks (calls past the check / calls):\\n  m.f: 2/2\\n'
                printf 'step 1:\\nargument checks (calls past the check / calls):\\n  sol.const m::T *:g: 1/1\\n'
                printf 'replay: corpus/c: a finding (signal 6)\\n'
                printf 'replayed 3 input(s): 1 ended in a finding\\n'
                exit 1
                """))
        os.chmod(self.target.replay, 0o755)
        corpus = os.path.join(self.tmp, "corpus")
        os.makedirs(corpus)
        open(os.path.join(corpus, "a"), "w").close()
        checks = history.argument_checks(self.target, corpus)
        self.assertEqual(checks, {"callables": 3, "callables_past": 2, "calls": 6, "calls_past": 4,
                                  "never_past": ["m.g"], "inputs_with_findings": 1})

    def test_the_report_shows_the_shape_table_beside_line_coverage(self):
        folder = os.path.join(self.args.out, "coverage")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "coverage.json"), "w") as f:
            json.dump({"binding core": {"lines_covered": 9, "lines": 10, "percent": 90.0}}, f)
        with open(os.path.join(folder, "shapes.json"), "w") as f:
            json.dump({"meaningful": 4, "reached": 3, "percent": 75.0,
                       "never_reached": ["copy_handle onto a handle of a closed state"]}, f)
        nightly.write_reports(self.args, self.night("20260103-000000", 10, 5))
        page = open(os.path.join(self.args.out, "report.html")).read()
        self.assertIn("3 of 4 meaningful cells reached (75.00%)", page)
        self.assertIn("copy_handle onto a handle of a closed state", page)

    def test_nights_accumulate_and_the_report_plots_them(self):
        history.record_night(self.args.out, self.night("20260101-000000", 10, 5), None)
        history.record_night(self.args.out, self.night("20260102-000000", 12, 6), {"binding": {"percent": 80.0}})
        history.record_night(self.args.out, self.night("20260102-000000", 14, 7), {"binding": {"percent": 81.0}})
        nights = history.read_history(self.args.out)
        self.assertEqual([n["run"] for n in nights], ["20260101-000000", "20260102-000000"])
        self.assertEqual(nights[-1]["targets"]["fake"]["cov"], 14)  # a rerun replaces its night
        nightly.write_reports(self.args, self.night("20260102-000000", 14, 7))
        page = open(os.path.join(self.args.out, "report.html")).read()
        self.assertIn("2 finished night(s)", page)
        self.assertIn('aria-label="cov across nights"', page)
        self.assertIn("81.00%", page)


class Classification(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.target = FakeTarget(self.tmp)
        self.args = Args(os.path.join(self.tmp, "out"))

    def test_a_timeout_is_one_signature_wherever_it_stopped(self):
        a = nightly.signature(report("ERROR: libFuzzer: timeout after 21 seconds", REGISTER))
        b = nightly.signature(report("ERROR: libFuzzer: timeout after 25 seconds", GUARD, register_type("Probe")))
        self.assertEqual(a[0], b[0])

    def test_a_budget_escape_is_kept_apart_and_is_no_finding(self):
        with open(os.path.join(self.target.artifacts, "crash-e"), "wb") as f:
            f.write(b"E loops in a finalizer")
        self.assertEqual(nightly.process_artifacts(self.target, self.args, {"id": "r"}), [])
        self.assertEqual(os.listdir(self.target.crashes), [])
        escapes = nightly.collect_escapes(self.args.out)
        self.assertEqual(len(escapes), 1)
        self.assertTrue(escapes[0]["signature"].startswith("luahammer-budget-escape"))

    def test_a_finding_stays_new_until_a_finished_run_reported_it(self):
        with open(os.path.join(self.target.artifacts, "crash-a"), "wb") as f:
            f.write(b"A stored, then the run was killed")
        nightly.process_artifacts(self.target, self.args, {"id": "killed-run"})
        # A rerun (even --fresh) still counts it new: no finished run has reported it.
        self.assertEqual(len(nightly.unreported(self.args.out)), 1)
        nightly.mark_reported(self.args.out)
        self.assertEqual(nightly.unreported(self.args.out), [])

    def test_crash_files_a_merge_left_in_the_working_folder_are_processed(self):
        target = nightly.Target.__new__(nightly.Target)
        target.work = os.path.join(self.tmp, "work")
        target.artifacts, target.tmp, target.crashes = (os.path.join(target.work, d) for d in ("artifacts", "tmp", "c"))
        for d in (target.artifacts, target.tmp, os.path.join(target.crashes, ".tmp-half-stored")):
            os.makedirs(d)
        with open(os.path.join(target.work, "crash-from-merge"), "wb") as f:
            f.write(b"A")
        target.tidy()
        self.assertEqual(os.listdir(target.artifacts), ["crash-from-merge"])
        self.assertEqual(os.listdir(target.crashes), [])


SLEEPER = textwrap.dedent("""\
    #!/bin/sh
    # Stands in for libFuzzer's merge: a grandchild (an inner run of the same binary)
    # outlives its parent.
    if [ "${1:-}" = inner ]; then sleep 300; exit 0; fi
    "$0" inner &
    echo started
    wait
    """)


class ProcessGroups(unittest.TestCase):
    def test_a_rerun_kills_the_groups_a_killed_run_left(self):
        tmp = tempfile.mkdtemp()
        sleeper = os.path.join(tmp, "merge_fuzzer")
        with open(sleeper, "w") as f:
            f.write(SLEEPER)
        os.chmod(sleeper, 0o755)
        nightly.Groups.start(tmp)
        proc = nightly.spawn([sleeper], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        members = nightly.Groups.members(proc.pid)
        self.assertGreaterEqual(len(members), 2)  # the script and its sleep
        proc.kill()  # the direct child dies; its grandchild lives on, as after kill -9
        proc.wait()
        self.assertGreaterEqual(len(nightly.Groups.members(proc.pid)), 1)
        nightly.Groups.live = set()  # the killed run's memory is gone; its file is not
        nightly.Groups.start(tmp)
        for _ in range(100):
            if not nightly.Groups.members(proc.pid):
                break
            time.sleep(0.05)
        self.assertEqual(nightly.Groups.members(proc.pid), [])
        nightly.Groups.path = None


FAKE_LIBFUZZER = textwrap.dedent("""\
    #!/bin/sh
    # A libFuzzer stand-in: MODE=broken fails before fuzzing, as libFuzzer does on a corpus
    # file it cannot list; otherwise one status line.
    case "$*" in *-merge=1*) exit 0 ;; esac
    echo "$*" >> "$(dirname "$0")/args"
    if [ "$(cat "$(dirname "$0")/mode")" = broken ]; then echo "ERROR: cannot read the corpus"; exit 1; fi
    echo "#2: cov: 5 ft: 6 corp: 1 exec/s 100 oom/timeout/crash: 0/0/0 time: 1s"
    """)


class StandInBuild(unittest.TestCase):
    """A stand-in build tree (build/<preset>/fuzz/fake_fuzzer, removed after)."""

    def setUp(self):
        self.preset = f"nightly-test-{os.getpid()}"
        self.build = os.path.join(ROOT, "build", self.preset)
        os.makedirs(os.path.join(self.build, "fuzz"))
        binary = os.path.join(self.build, "fuzz", "fake_fuzzer")
        with open(binary, "w") as f:
            f.write(FAKE_LIBFUZZER)
        os.chmod(binary, 0o755)
        self.write_manifest(binary)
        self.out = tempfile.mkdtemp()
        self.argv = ["--no-build", "--no-coverage", "--preset", self.preset, "--out", self.out, "--minutes", "1"]

    def write_manifest(self, binary, role="campaign"):
        fuzz = os.path.join(self.build, "fuzz")
        with open(os.path.join(self.build, nightly.MANIFEST), "w") as f:
            f.write("# " + "\t".join(nightly.MANIFEST_COLUMNS) + "\n")
            f.write("\t".join(["fake", role, binary, os.path.join(fuzz, "fake_replay"), os.path.join(fuzz, "seeds"),
                               os.path.join(fuzz, "regressions"), os.path.join(fuzz, "fake.options")]) + "\n")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.build, ignore_errors=True)

    def mode(self, text):
        with open(os.path.join(self.build, "fuzz", "mode"), "w") as f:
            f.write(text)



class Campaign(StandInBuild):
    """main() over the stand-in build tree."""

    def test_a_target_that_cannot_start_is_a_setup_error(self):
        self.mode("broken")
        self.assertEqual(nightly.entry_point(self.argv), 2)

    def test_a_target_that_fuzzes_is_a_clean_run(self):
        self.mode("ok")
        self.assertEqual(nightly.entry_point(self.argv), 0)

    def test_a_target_named_twice_runs_once_with_the_whole_share(self):
        self.mode("ok")
        self.assertEqual(nightly.entry_point(self.argv + ["--targets", "fake,fake"]), 0)
        state = json.load(open(os.path.join(self.out, "run.json")))
        self.assertEqual(list(state["targets"]), ["fake"])

    def test_a_fixed_budget_of_executions_is_passed_as_runs_with_the_minutes_as_the_limit(self):
        self.mode("ok")
        self.write_manifest(os.path.join(self.build, "fuzz", "fake_fuzzer"))
        self.assertEqual(nightly.entry_point(self.argv + ["--executions", "500"]), 0)
        args = open(os.path.join(self.build, "fuzz", "args")).read().split()
        self.assertIn("-runs=500", args)
        self.assertIn("-max_total_time=60", args)
        summary = json.load(open(os.path.join(self.out, "summary.json")))
        self.assertEqual(summary["executions"], 500)
        self.assertEqual(summary["targets"]["fake"]["series"][-1]["execs"], 2)
        self.assertIn("500 executions a target", open(os.path.join(self.out, "report.html")).read())
        # A rerun with another budget is another campaign, not the continuation of this one.
        state = json.load(open(os.path.join(self.out, "run.json")))
        self.assertFalse(nightly.continues(dict(state, complete=False), state["preset"], 1, ["fake"], None, 900))
        self.assertTrue(nightly.continues(dict(state, complete=False), state["preset"], 1, ["fake"], None, 500))

    def test_without_a_budget_of_executions_no_runs_flag_is_passed(self):
        self.mode("ok")
        self.assertEqual(nightly.entry_point(self.argv), 0)
        self.assertNotIn("-runs=", open(os.path.join(self.build, "fuzz", "args")).read())

    def test_a_comparison_target_is_not_in_the_campaign(self):
        self.write_manifest(os.path.join(self.build, "fuzz", "fake_fuzzer"), role="comparison")
        self.assertEqual(nightly.entry_point(self.argv), 2)

    def test_a_build_tree_without_a_manifest_is_one_line_and_exit_2(self):
        os.remove(os.path.join(self.build, nightly.MANIFEST))
        self.assertEqual(nightly.entry_point(self.argv), 2)

    def test_an_out_folder_that_is_a_file_is_one_line_and_exit_2(self):
        path = os.path.join(self.out, "a-file")
        open(path, "w").close()
        self.assertEqual(nightly.entry_point(self.argv[:-4] + ["--out", path, "--minutes", "1"]), 2)


class Command(StandInBuild):
    """The `luahammer` command over the same stand-in build tree."""

    def luahammer(self, *argv):
        result = subprocess.run([sys.executable, os.path.join(ROOT, "ci", "luahammer"), *argv],
                                capture_output=True, text=True)
        return result.returncode, result.stdout, result.stderr

    def test_help_lists_every_command_of_the_table(self):
        rc, out, _ = self.luahammer("--help")
        self.assertEqual(rc, 0)
        for name in command.SUBCOMMANDS:
            self.assertIn(name, out)

    def test_bad_command_lines_are_one_line_and_exit_2(self):
        for argv in (["nope"], ["replay"], ["minimize", "--runs", "0", "fake", "x"], [],
                     ["replay", "--build-dir", self.build, "unknown", __file__],
                     ["replay", "--build-dir", self.build, "fake", "/no/such/input"],
                     ["report", "--out", tempfile.mkdtemp()]):
            rc, _, err = self.luahammer(*argv)
            self.assertEqual(rc, 2, argv)
            if argv:
                self.assertEqual(len(err.strip().splitlines()), 1, (argv, err))

    def test_every_command_has_its_flags_in_the_one_table(self):
        for name, (_, flags, _) in command.SUBCOMMANDS.items():
            rc, out, _ = self.luahammer(name, "--help")
            self.assertEqual(rc, 0, name)
            self.assertIn(f"usage: luahammer {name}", out)
        rc, _, err = self.luahammer("canaries", "--budget", "0")
        self.assertEqual((rc, len(err.strip().splitlines())), (2, 1))

    def test_replay_runs_the_manifests_replay_binary_and_returns_its_status(self):
        replay = os.path.join(self.build, "fuzz", "fake_replay")
        with open(replay, "w") as f:
            f.write('#!/bin/sh\necho "replayed $*"\nexit 3\n')
        os.chmod(replay, 0o755)
        rc, out, _ = self.luahammer("replay", "--build-dir", self.build, "fake", __file__)
        self.assertEqual(rc, 3)
        self.assertIn("replayed " + __file__, out)
        rc, out, _ = self.luahammer("explain", "--build-dir", self.build, "fake", __file__)
        self.assertIn("replayed --explain " + __file__, out)

    def test_fuzz_runs_the_campaign_over_a_build_dir(self):
        self.mode("ok")
        rc, _, err = self.luahammer("fuzz", "--build-dir", self.build, *self.argv[:2], *self.argv[4:])
        self.assertEqual(rc, 0, err)
        rc, out, _ = self.luahammer("report", "--out", self.out)
        self.assertEqual(rc, 0)
        self.assertTrue(os.path.exists(os.path.join(self.out, "report.html")))


class Arguments(unittest.TestCase):
    def test_a_misspelt_canary_is_a_usage_error(self):
        os.environ["LUAHAMMER_CANARY"] = "guard_eror_path"
        try:
            with self.assertRaises(nightly.Fatal):
                nightly.parse([])
        finally:
            del os.environ["LUAHAMMER_CANARY"]

    def test_a_known_findings_file_that_does_not_exist_is_a_usage_error(self):
        with self.assertRaisesRegex(nightly.Fatal, "--known-findings /no/such/file: no such file"):
            nightly.parse(["--known-findings", "/no/such/file"])

    def test_bad_arguments_are_one_clear_error(self):
        for argv in (["--minutes", "0"], ["--minutes", "x"], ["--jobs", "-1"], ["--bogus"], ["--jobs", "100000"],
                     ["--minutes", "99999999999"]):
            with self.assertRaises(nightly.Fatal):
                nightly.parse(argv)

    def test_a_canary_needs_the_canary_preset(self):
        os.environ["LUAHAMMER_CANARY"] = "guard_error_path"
        try:
            self.assertEqual(nightly.parse([]).preset, "canary-fuzz")
            with self.assertRaises(nightly.Fatal):
                nightly.parse(["--preset", "fuzz"])
        finally:
            del os.environ["LUAHAMMER_CANARY"]


if __name__ == "__main__":
    unittest.main()
