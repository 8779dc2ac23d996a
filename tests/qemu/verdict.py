#!/usr/bin/env python3
"""Judge a tcpmig QEMU run from its two serial logs.

console (ttyS0): the kernel log; KUnit suites print KTAP there.
results (ttyS1): /init's report: '=== RUN/PASS/FAIL <script>', '=== TIME
<script> <seconds>', the
kmemleak report and '=== DONE'.

The run passes only if every expected KUnit suite ran and passed with at
least one test, every script passed, kmemleak found nothing, the VM got
to the end, and the kernel printed no oops, WARN, BUG or sanitizer report.
"""
import argparse
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
# Kernel reports that fail a run, wherever they appear.
BAD = re.compile(
    r"(BUG:|WARNING:|Oops|Kernel panic|general protection fault|"
    r"KASAN:|UBSAN:|KFENCE:|kernel BUG at|possible circular locking|"
    r"possible recursive locking|inconsistent lock state|lockdep is turned off|"
    r"suspicious RCU usage|ODEBUG|list_add corruption|list_del corruption|"
    r"INFO: task .* blocked|stack-protector|Call Trace:|unreferenced object)"
)


def read_lines(path):
    try:
        with open(path, errors="replace") as f:
            return [TIMESTAMP.sub("", line.rstrip("\r\n")) for line in f]
    except FileNotFoundError:
        return []


def excerpt(lines, index, before=5, after=25):
    return "\n".join("    | " + line for line in lines[max(0, index - before):index + after])


def check_kernel(console, failures):
    for i, line in enumerate(console):
        if BAD.search(line):
            failures.append(f"kernel report in the console log:\n{excerpt(console, i)}")
            return


def check_suites(console, suites, failures, summary):
    """Every suite must run, and pass every time it runs: the module runs
    its suites at each insmod, and the scripts load it more than once."""
    for suite in suites:
        starts = [i for i, l in enumerate(console) if l.strip() == f"# Subtest: {suite}"]
        if not starts:
            failures.append(f"KUnit suite {suite}: missing (never ran)")
            continue
        result = re.compile(rf"^\s*(not ok|ok) \d+ {re.escape(suite)}(\s*#.*)?$")
        runs = []
        for start in starts:
            passed = failed = skipped = 0
            verdict = None
            for line in console[start + 1:]:
                m = result.match(line)
                if m:
                    verdict = m.group(1)
                    if m.group(2) and "SKIP" in m.group(2):
                        skipped += 1
                    break
                t = re.match(r"^\s+(not ok|ok) \d+ (\S+)(.*)$", line)
                if t:
                    if "# SKIP" in t.group(3):
                        skipped += 1
                    elif t.group(1) == "ok":
                        passed += 1
                    else:
                        failed += 1
            runs.append((verdict, passed, failed, skipped))
            if verdict != "ok" or failed or skipped or passed == 0:
                failures.append(f"KUnit suite {suite} (run {len(runs)} of {len(starts)}): "
                                f"{verdict or 'no result'}, "
                                f"{passed} passed, {failed} failed, {skipped} skipped:\n"
                                + excerpt(console, start, 0, 40))
        bad = [r for r in runs if r[0] != "ok" or r[2] or r[3] or r[1] == 0]
        verdict, passed, failed, skipped = bad[0] if bad else runs[0]
        summary.append(f"KUnit {suite}: {verdict or 'no result'} "
                       f"(pass {passed}, fail {failed}, skip {skipped}; "
                       f"{len(runs) - len(bad)} of {len(runs)} runs ok)")


def check_results(results, failures, summary, need_kmemleak):
    ran = [l.split()[2] for l in results if l.startswith("=== RUN ")]
    if not ran:
        failures.append("no test script ran")
    took = {l.split()[2]: l.split()[3] for l in results
            if l.startswith("=== TIME ") and len(l.split()) == 4}
    for name in ran:
        ok = f"=== PASS {name}" in results
        time = f" ({took[name]} s)" if name in took else ""
        summary.append(f"script {name}: {'PASS' if ok else 'FAIL'}{time}")
        if not ok:
            i = results.index(f"=== RUN {name}")
            failures.append(f"script {name} failed:\n{excerpt(results, i, 0, 200)}")
    if "=== KMEMLEAK BEGIN" in results:
        b, e = results.index("=== KMEMLEAK BEGIN"), results.index("=== KMEMLEAK END")
        leaks = [l for l in results[b + 1:e] if l.strip()]
        summary.append(f"kmemleak: {'clean' if not leaks else 'LEAKS'}")
        if leaks:
            failures.append("kmemleak reports leaks:\n" + "\n".join("    | " + l for l in leaks[:60]))
    elif need_kmemleak:
        failures.append("kmemleak report missing (kernel without DEBUG_KMEMLEAK?)")
    if "=== DONE" not in results:
        failures.append("the VM did not finish its tests (crash or timeout):\n"
                        + "\n".join("    | " + l for l in results[-15:]))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--console", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--suites", default="", help="comma-separated KUnit suites that must pass")
    p.add_argument("--no-kmemleak", action="store_true", help="do not require a kmemleak report")
    p.add_argument("--timed-out", action="store_true")
    a = p.parse_args()

    console, results = read_lines(a.console), read_lines(a.results)
    failures, summary = [], []
    if a.timed_out:
        failures.append("QEMU timed out")
    check_kernel(console, failures)
    check_suites(console, [s for s in a.suites.split(",") if s], failures, summary)
    check_results(results, failures, summary, not a.no_kmemleak)

    for line in summary:
        print("  " + line)
    for f in failures:
        print("FAIL: " + f)
    print("VERDICT: " + ("FAIL" if failures else "PASS"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
