"""The figures and the invariants, as plain-text tables."""
from collections import Counter, defaultdict


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(headers: list[str], lines: list[list]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in line] for line in lines]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    render = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([render[0], "-+-".join("-" * w for w in widths), *render[1:]])


def in_window(at: float, windows: list[tuple[float, float]]) -> bool:
    return any(start <= at <= end for start, end in windows)


# Answers the contract itself gives with a 5xx status: no free VM, a remote system that refused.
CONTRACT_5XX = {("POST /create_machine", 501), ("POST /create_invoice", 502), ("POST /api/external-proxy/purchase", 502)}


def expected_5xx(sample) -> bool:
    return (sample.endpoint, sample.status) in CONTRACT_5XX


def classify(samples, windows) -> Counter:
    kinds = Counter()
    for s in samples:
        if s.status == 0:
            kinds[f"no answer ({s.error}){' in outage' if in_window(s.at, windows) else ''}"] += 1
        elif expected_5xx(s):
            kinds[f"{s.status} on {s.endpoint} (contract answer)"] += 1
        elif s.status >= 500:
            kinds["5xx in outage window" if in_window(s.at, windows) else "5xx OUTSIDE outage windows"] += 1
        elif s.status >= 400:
            kinds[f"{s.status} (expected 4xx)"] += 1
        else:
            kinds["2xx/3xx"] += 1
    return kinds


def figures(samples, duration: float, windows, faults, mode: str, hosts: str) -> str:
    out = [f"hosts: {hosts} ({mode})"]
    total = len(samples)
    buckets = Counter(int(s.at // 10) for s in samples if s.at < duration)
    full = [buckets.get(i, 0) / 10 for i in range(1, int(duration // 10))]  # the first 10 s are sign-ups
    out.append(f"requests: {total} in {duration:.0f} s = {total / max(duration, 1):.1f} req/s held "
               f"(after sign-up, slowest 10 s: {min(full) if full else 0:.1f} req/s, "
               f"fastest: {max(full) if full else 0:.1f})")
    by_endpoint = defaultdict(list)
    for s in samples:
        by_endpoint[s.endpoint].append(s)
    lines = []
    for endpoint, group in sorted(by_endpoint.items()):
        answered = [s.ms for s in group if s.status]
        kinds = Counter("2xx" if 0 < s.status < 400 else "4xx" if 400 <= s.status < 500 else
                        "5xx" if s.status >= 500 else "none" for s in group)
        lines.append([endpoint, len(group), f"{percentile(answered, .5):.0f}", f"{percentile(answered, .99):.0f}",
                      kinds["2xx"], kinds["4xx"], kinds["5xx"], kinds["none"]])
    out.append(table(["endpoint", "n", "p50 ms", "p99 ms", "2xx", "4xx", "5xx", "no answer"], lines))
    kinds = classify(samples, windows)
    out.append(table(["answers by kind", "n", "rate"],
                     [[k, v, f"{100 * v / max(total, 1):.2f}%"] for k, v in sorted(kinds.items())]))
    fault_lines = []
    for f in faults:
        held = f"{(f.ended or f.started) - f.started:.1f}"
        recovered = "-" if f.skipped else (f"{f.recovered_after:.1f}" if f.recovered_after is not None else "NOT")
        fault_lines.append([f"{f.started:.1f}", f.kind, f.target, held, recovered,
                            "skipped" if f.skipped else ("yes" if f.recovered_after is not None else "NO"), f.note])
    out.append(table(["at s", "fault", "target", "held s", "recovered after s", "survived", "note"], fault_lines))
    out.append(outage_lines(samples, faults))
    return "\n\n".join(out)


def outage_lines(samples, faults) -> str:
    """Each outage: its window's length, 5xx in it, and 5xx in the seconds after the app was healthy again."""
    from .faults import AFTER_RECOVERY, OUTAGE_KINDS

    lines = []
    for f in faults:
        if f.kind not in OUTAGE_KINDS:
            continue
        start, end = f.window
        inside = sum(1 for s in samples if s.status >= 500 and not expected_5xx(s) and start <= s.at <= end)
        after = sum(1 for s in samples if s.status >= 500 and not expected_5xx(s)
                    and f.recovered_at < s.at <= f.recovered_at + AFTER_RECOVERY)
        lines.append([f.kind, f"{(f.ended or f.started) - f.started:.1f}", f"{end - start:.1f}", inside,
                      after])
    return table(["outage", "down s", "window s", "5xx in window", f"5xx <= {AFTER_RECOVERY:.0f} s after healthy"],
                 lines)


def invariants(results) -> str:
    lines = [[r.name, "skipped" if r.ok is None else ("OK" if r.ok else "BROKEN"), r.detail] for r in results]
    return table(["invariant", "result", "detail"], lines)
