#!/usr/bin/env python3
"""Where a daemon's CPU went, from `perf script -F comm,tid,ip,sym` of a `perf record
--call-graph dwarf` on stdin (bench/timers.sh uses it with TIMERS_PERF=1).

Each sample is put under the innermost Tenantry function on its stack (the code that
asked for the work) and a kind of work: preparing SQL (sqlite3_prepare: statements
compiled again on each call), running it (sqlite3_step), Codable record encoding or
decoding (GRDB records, JSON), reading pages (pread in the kernel) or other.
Prints the shares, biggest first."""
import collections
import re
import subprocess
import sys

OWNERS = re.compile(
    r"^(?:specialized )?(?:static )?"
    r"((?:Subscriptions|Allowances|Plan|PlanCache|Ledger|CreditGrant|Subscription|Entitlement|Invoice|Billing|"
    r"BillingTimers|Scheduler|JobState|AuditLog|Housekeeping|Tenant|ApiKey)\.[A-Za-z_]+)"
)


def kind(frames):
    for f in frames:  # innermost first
        if "sqlite3_prepare" in f:
            return "SQL prepare"
        if "sqlite3_step" in f:
            for g in frames:
                if g in ("pread64", "__pread64", "__libc_pread", "__x64_sys_pread64"):
                    return "SQL step: page reads (pread)"
                if g in ("fdatasync", "fsync", "__x64_sys_fdatasync", "__x64_sys_fsync"):
                    return "SQL step: fsync"
            return "SQL step"
        if "sqlite3_finalize" in f or "sqlite3_reset" in f:
            return "SQL finalize/reset"
        if f in ("fdatasync", "fsync"):
            return "fsync (commit)"
        if re.search(r"encode|Encoder", f):
            return "Codable encode"
        if re.search(r"decode|Decoder|JSONDecoder", f):
            return "Codable decode"
    return "other (Swift, allocation, ...)"


def main():
    samples = []
    for block in sys.stdin.read().split("\n\n"):
        frames = []
        for line in block.strip().split("\n")[1:]:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                frames.append(re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0]))
        if frames:
            samples.append(frames)
    if not samples:
        print("  (no samples)")
        return
    names = sorted({f for s in samples for f in s})
    try:
        out = subprocess.run(["swift-demangle", "--simplified"], input="\n".join(names), capture_output=True, text=True).stdout
        demangled = dict(zip(names, out.split("\n")))
    except OSError:
        demangled = {}
    total = len(samples)
    by_kind, by_owner, by_both = collections.Counter(), collections.Counter(), collections.Counter()
    for frames in samples:
        frames = [demangled.get(f, f) for f in frames]
        k = kind(frames)
        owner = "(outside Tenantry code)"
        for f in frames:
            m = OWNERS.match(f)
            if m and "closure" not in f.split("(")[0]:
                owner = m.group(1)
                break
        by_kind[k] += 1
        by_owner[owner] += 1
        by_both[(owner, k)] += 1
    pct = lambda n: f"{100 * n / total:4.1f}%"
    print(f"  {total} samples; by kind of work: " + ", ".join(f"{k} {pct(n)}" for k, n in by_kind.most_common()))
    print("  by innermost Tenantry function (and its kinds of work):")
    for owner, n in by_owner.most_common(10):
        parts = ", ".join(f"{k} {pct(m)}" for (o, k), m in by_both.most_common() if o == owner and m * 200 >= total)
        print(f"    {pct(n)} {owner}: {parts}")


main()
