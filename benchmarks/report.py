"""Tables (latest.md) and plots (PNG) from the benchmark's run records."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

THRESHOLDS_S = (0.05, 0.125, 0.25, 0.5)


def errors(record: dict, key: str = "start_error_s") -> np.ndarray:
    """Absolute errors, a missing cue (or a failed run) as infinity."""
    return np.array([np.inf if e is None else e for e in record[key]], dtype=float)


def worse(record: dict) -> bool:
    """Made worse: the output's median start error exceeds the input's."""
    after, before = errors(record), errors(record, "input_start_error_s")
    if after.size == 0:
        return False
    return bool(np.median(after) > np.median(before) + 1e-3)


def harm(record: dict, threshold_s: float) -> int:
    """Lines left more than ``threshold_s`` from their true time that the exact global map
    alone would have put within it (offset, drift, cuts: every line; with jitter, the lines
    whose jitter was within it)."""
    if record.get("mapped_input_error_s") is None:
        return 0
    mapped = np.array(record["mapped_input_error_s"], dtype=float)
    return int(np.sum((errors(record) > threshold_s) & (mapped <= threshold_s)))


def made_worse(record: dict, slack_s: float = 0.05) -> int:
    """Lines the system left further from their true time than the exact map would (by
    more than ``slack_s``)."""
    if record.get("mapped_input_error_s") is None:
        return 0
    return int(np.sum(errors(record) > np.array(record["mapped_input_error_s"], dtype=float) + slack_s))


def brief(record: dict) -> str:
    e = errors(record)
    if record.get("must_refuse"):
        verdict = "WRITTEN (wrong)" if record.get("written") else "refused"
        return f"{verdict} {record['wall_s']:.1f}s {record['peak_rss_mb']:.0f}MB"
    if record["error"]:
        return f"FAILED {record['wall_s']:.1f}s: {record['error']}"
    return (
        f"within 125 ms {np.mean(e <= 0.125):6.1%}  median {_ms(np.median(e))}  "
        f"{record['wall_s']:.1f}s {record['peak_rss_mb']:.0f}MB{'  WORSE' if worse(record) else ''}"
    )


def _ms(value: float) -> str:
    return "lost" if not np.isfinite(value) else f"{value * 1000:.0f} ms"


def summary(records: list[dict]) -> dict:
    starts = np.concatenate([errors(r) for r in records]) if records else np.array([])
    ends = np.concatenate([errors(r, "end_error_s") for r in records]) if records else np.array([])
    return {
        "files": len(records),
        "cues": starts.size,
        "within": {t: float(np.mean(starts <= t)) if starts.size else float("nan") for t in THRESHOLDS_S},
        "start_median": float(np.median(starts)) if starts.size else float("nan"),
        "start_p90": float(np.quantile(starts, 0.9)) if starts.size else float("nan"),
        "end_median": float(np.median(ends)) if ends.size else float("nan"),
        "end_p90": float(np.quantile(ends, 0.9)) if ends.size else float("nan"),
        "worse": sum(worse(r) for r in records),
        "failed": sum(bool(r["error"]) for r in records),
        "wall_s": sum(r["wall_s"] for r in records),
        "peak_rss_mb": max((r["peak_rss_mb"] for r in records), default=0.0),
    }


def _row(label: str, system: str, s: dict, with_cost: bool) -> str:
    cells = [label, system, f"{s['files']}/{s['cues']}"]
    cells += [f"{s['within'][t]:.1%}" for t in THRESHOLDS_S]
    cells += [
        f"{_ms(s['start_median'])} / {_ms(s['start_p90'])}",
        f"{_ms(s['end_median'])} / {_ms(s['end_p90'])}",
        f"{s['worse']}" + (f" ({s['failed']} failed)" if s["failed"] else ""),
    ]
    if with_cost:
        cells += [f"{s['wall_s']:.1f} s", f"{s['peak_rss_mb']:.0f} MB"]
    return "| " + " | ".join(cells) + " |"


def _table(records: list[dict], group_key, with_cost: bool) -> list[str]:
    header = [
        "",
        "system",
        "files/cues",
        *[f"≤{t * 1000:g} ms" for t in THRESHOLDS_S],
        "start median / p90",
        "end median / p90",
        "worse",
    ]
    if with_cost:
        header += ["wall", "peak RSS"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups: dict = {}
    for r in records:
        groups.setdefault((group_key(r), r["system"]), []).append(r)
    for (label, system), rs in groups.items():
        lines.append(_row(label, system, summary(rs), with_cost))
    return lines


def harm_table(records: list[dict], group_key) -> list[str]:
    """Per row and system: lines, the harm counts, lines made worse than the exact map."""
    lines = [
        "| | system | lines | harm >125 ms | harm >500 ms | worse than the exact map |",
        "|---|---|---|---|---|---|",
    ]
    groups: dict = {}
    for r in records:
        if r.get("mapped_input_error_s") is not None and not r.get("must_refuse"):
            groups.setdefault((group_key(r), r["system"]), []).append(r)
    for (label, system), rs in groups.items():
        n = sum(len(r["start_error_s"]) for r in rs)
        lines.append(
            f"| {label} | {system} | {n} | {sum(harm(r, 0.125) for r in rs)} | "
            f"{sum(harm(r, 0.5) for r in rs)} | {sum(made_worse(r) for r in rs)} |"
        )
    return lines


def refusal_table(records: list[dict]) -> list[str]:
    """Subtitles that do not belong to their media: did each system refuse or write?"""
    lines = ["| case | subtitle | system | result | wall |", "|---|---|---|---|---|"]
    for r in records:
        reason = re.sub(r"^subsync: error: refused: \S+: ", "", r["error"] or "").replace("|", "/")
        result = "written (wrong)" if r.get("written") else f"refused: {reason[:160]}"
        lines.append(
            f"| {r['case']} | {r['distortion']} ({r['detail']}) | {r['system']} | {result} | {r['wall_s']:.1f} s |"
        )
    return lines


def word_table(words: list[dict]) -> tuple[list[str], dict]:
    lines = [
        "| reference | words | mean start error | mean end error | mean boundary error | starts ≤50 ms | starts ≤100 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    means = {}
    for kind in ("human", "machine"):
        chosen = [w for w in words if w["reference"] == kind]
        if not chosen:
            continue
        starts = np.abs(np.concatenate([w["start_error_s"] for w in chosen]))
        ends = np.abs(np.concatenate([w["end_error_s"] for w in chosen]))
        both = np.concatenate([starts, ends])
        means[kind] = float(both.mean())
        lines.append(
            f"| {kind} ({', '.join(w['case'] for w in chosen)}) | {starts.size} | "
            f"{starts.mean() * 1000:.0f} ms | {ends.mean() * 1000:.0f} ms | {both.mean() * 1000:.0f} ms | "
            f"{np.mean(starts <= 0.05):.0%} | {np.mean(starts <= 0.1):.0%} |"
        )
    return lines, means


def targets(records: list[dict], word_means: dict) -> list[str]:
    def pick(kind, distortion, system, reliable_only=True):
        return [
            r
            for r in records
            if r["kind"] == kind
            and r["distortion"] == distortion
            and r["system"] == system
            and (r["reliable"] or not reliable_only)
        ]

    lines = ["| target | measured | met |", "|---|---|---|"]
    od = pick("clip", "offset+drift", "subsync")
    if od:
        s = summary(od)
        lines.append(
            f"| offset+drift, clips with onset-marking references: ≥95% of starts ≤125 ms, no file worse "
            f"| {s['within'][0.125]:.1%}, {s['worse']} of {s['files']} worse "
            f"| {'yes' if s['within'][0.125] >= 0.95 and s['worse'] == 0 else 'no'} |"
        )
    jit = pick("clip", "offset+drift+jitter", "subsync")
    if jit:
        s = summary(jit)
        met = s["within"][0.25] >= 0.80 and s["within"][0.125] >= 0.60
        lines.append(
            f"| + jitter, same clips: ≥80% ≤250 ms and ≥60% ≤125 ms | {s['within'][0.25]:.1%} and "
            f"{s['within'][0.125]:.1%} | {'yes' if met else 'no'} |"
        )
    long_runs = [r for r in records if r["case"] == "film_2h" and r["distortion"] == "offset+drift"]
    by_system = {r["system"]: r for r in long_runs}
    peer = next((r for name, r in by_system.items() if name.startswith("ffsubsync")), None)
    for name, limit in (("subsync", 4.0), ("subsync --fast", 1.0)):
        if name in by_system and peer and not peer["error"]:
            ratio = by_system[name]["wall_s"] / peer["wall_s"]
            lines.append(
                f"| 2-hour film, {name}: wall ≤{limit:g}× ffsubsync's | {by_system[name]['wall_s']:.0f} s vs "
                f"{peer['wall_s']:.0f} s = {ratio:.2f}× | {'yes' if ratio <= limit else 'no'} |"
            )
    for name in ("subsync", "subsync --fast"):
        if name in by_system:
            rss = by_system[name]["peak_rss_mb"]
            lines.append(
                f"| 2-hour film, {name}: peak RSS ≤3 GB | {rss / 1024:.2f} GB | {'yes' if rss <= 3072 else 'no'} |"
            )
    refusals = [r for r in records if r.get("must_refuse") and r["system"] == "subsync"]
    if refusals:
        refused = sum(not r.get("written") for r in refusals)
        lines.append(
            f"| subtitles of another episode / media without speech: all refused (exit 3) "
            f"| {refused} of {len(refusals)} refused | {'yes' if refused == len(refusals) else 'no'} |"
        )
    cut_runs = [r for r in records if r["system"] == "subsync" and r["kind"] == "film" and "cut" in r["distortion"]]
    if cut_runs:
        s = summary(cut_runs)
        lines.append(
            f"| films with a cut: ≥95% of starts ≤125 ms | {s['within'][0.125]:.1%} "
            f"| {'yes' if s['within'][0.125] >= 0.95 else 'no'} |"
        )
    lines += human_targets(records)
    if "human" in word_means:
        lines.append(
            f"| word boundaries (hand-labelled): mean error ≤40 ms | {word_means['human'] * 1000:.0f} ms "
            f"| {'yes' if word_means['human'] <= 0.04 else 'no'} |"
        )
    return lines


def human_targets(records: list[dict]) -> list[str]:
    """The targets on human-convention references (benchmarks/human.py)."""

    def runs(distortion, system, kind=None):
        return [
            r
            for r in records
            if r["distortion"] == f"human {distortion}"
            and r["system"] == system
            and (kind is None or r["kind"] == kind)
        ]

    lines = []
    od = runs("offset+drift", "subsync")
    if od:
        s = summary(od)
        beyond = int(sum(np.sum(errors(r) > 0.5) for r in od))
        fast = {r["case"]: r for r in runs("offset+drift", "subsync --fast")}
        peer = {
            r["case"]: r
            for r in records
            if r["distortion"] == "human offset+drift" and r["system"].startswith("ffsubsync")
        }
        worse_than_fast = [
            r["case"]
            for r in od
            if r["case"] in fast and np.median(errors(r)) > np.median(errors(fast[r["case"]])) + 1e-3
        ]
        below_peer = [
            r["case"]
            for r in od
            if r["case"] in peer
            and any(np.mean(errors(r) <= t) < np.mean(errors(peer[r["case"]]) <= t) for t in (0.125, 0.25, 0.5))
        ]
        met = s["within"][0.25] >= 0.95 and beyond == 0 and not worse_than_fast and not below_peer
        lines.append(
            f"| human-timed, offset+drift: ≥95% ≤250 ms, none >500 ms, no file worse than --fast, "
            f"≥ ffsubsync's share at 125/250/500 ms on every file | {s['within'][0.25]:.1%} ≤250 ms, "
            f"{beyond} >500 ms, worse than --fast: {', '.join(worse_than_fast) or 'none'}, below "
            f"ffsubsync: {', '.join(below_peer) or 'none'}{'' if peer else ' (ffsubsync not run)'} "
            f"| {'yes' if met else 'no'} |"
        )
    films = runs("offset+drift", "subsync", "film")
    if films:
        s = summary(films)
        lines.append(
            f"| human-timed films, offset+drift only: ≥99% ≤125 ms | {s['within'][0.125]:.1%} "
            f"| {'yes' if s['within'][0.125] >= 0.99 else 'no'} |"
        )
    jit = runs("offset+drift+jitter", "subsync")
    if jit:
        s = summary(jit)
        worse = sum(made_worse(r) for r in jit) / max(1, s["cues"])
        met = s["within"][0.25] >= 0.75 and worse <= 0.02
        lines.append(
            f"| human-timed + jitter 300 ms: ≥75% ≤250 ms, ≤2% of lines worse than the exact map "
            f"| {s['within'][0.25]:.1%}, {worse:.1%} worse | {'yes' if met else 'no'} |"
        )
    return lines


def write(out: Path, records: list[dict], words: list[dict], machine: str, argv: list[str]) -> None:
    clips = [r for r in records if r["kind"] == "clip" and not r.get("scenario")]
    films = [r for r in records if r["kind"] == "film" and not r.get("scenario")]
    humans = [r for r in records if r.get("scenario", "").startswith("human")]
    hard = [r for r in records if r.get("scenario") and not r.get("must_refuse") and r not in humans]
    refusals = [r for r in records if r.get("must_refuse")]
    word_lines, word_means = word_table(words)
    md = [
        "# Benchmark results",
        "",
        f"`python benchmarks/run.py {' '.join(argv)}`".replace(" `", "`"),
        "",
        f"Machine: {machine}.",
        "",
        "Errors are |output − true time| per cue; a cue missing from a system's output counts as lost "
        "(infinitely off). *worse*: files whose median start error grew. Wall time and peak RSS are per "
        "command, model loading and decoding included (sums over the files in a row; RSS the largest).",
        "",
        "## Targets",
        "",
        *targets(records, word_means),
        "",
    ]
    if clips:
        reliable = [r for r in clips if r["reliable"]]
        durations = [r["media_s"] for r in reliable]
        md += [
            "## Bench recordings, references that mark speech onsets",
            "",
            f"{len({r['case'] for r in reliable})} recordings ({', '.join(sorted({r['language'] for r in reliable}))}; "
            f"{min(durations):.0f} s to {max(durations):.0f} s), one seeded distortion of each kind per recording.",
            "",
            *_table(reliable, lambda r: r["distortion"], True),
            "",
        ]
        unreliable = sorted({r["case"] for r in clips if not r["reliable"]})
        if unreliable:
            md += [
                "## Bench recordings, all (including " + ", ".join(unreliable) + ")",
                "",
                "Their references are machine-made and do not mark onsets (see benchmarks/cases.py).",
                "",
                *_table(clips, lambda r: r["distortion"], False),
                "",
            ]
    if films:
        md += [
            "## Film-like files",
            "",
            "Utterances from the bench recordings on room-tone, noise and music beds with music interludes "
            "(benchmarks/cases.py); ground truth exact.",
            "",
            *_table(films, lambda r: f"{r['case']} {r['distortion']} ({r['detail']})", True),
            "",
        ]
    if humans:
        md += [
            "## Human-timed references",
            "",
            "The reliable recordings and the 20-minute film with references that behave like human subtitles "
            "(benchmarks/human.py): a per-file lead-in of 0-300 ms and linger of 300-900 ms with small per-line "
            "variation, reading-speed minimum durations, short utterances merged into two-line cues, fillers "
            "and some words dropped; the distortion applies to them and they are the truth.",
            "",
            *_table(humans, lambda r: f"{r['kind']}s {r['distortion']}", True),
            "",
            "Per file:",
            "",
            *_table(humans, lambda r: f"{r['case']} {r['distortion']}", False),
            "",
        ]
    md += [
        "## Harm",
        "",
        "Lines a system left more than 125 ms (500 ms) from their true time that the exact global map alone "
        "would have put within it (offset, drift, cuts: every line; jitter: the lines whose jitter was within "
        "it); *worse than the exact map*: lines left more than 50 ms further off than the exact map leaves them.",
        "",
        *harm_table(records, lambda r: f"{r['kind']}s {r['distortion']}"),
        "",
        "Per file:",
        "",
        *harm_table(records, lambda r: f"{r['case']} {r['distortion']}"),
        "",
    ]
    if hard:
        md += [
            "## Hard cases",
            "",
            "Each with a seeded offset and drift. *translated*: every line's text replaced by a line in another "
            "language (same timings); *sdh*: speaker labels, sound descriptions, dialogue dashes, music cues in "
            "long pauses and a credits line (only the spoken lines are scored); *reference*: synced to a correctly "
            "timed subtitle with other text (`subsync fix --reference`, `ffsubsync REF -i SUBS`).",
            "",
            *_table(hard, lambda r: f"{r['case']} {r['distortion']} ({r['detail']})", True),
            "",
        ]
    if refusals:
        md += [
            "## Subtitles that must be refused",
            "",
            "Another episode's subtitle (each reliable clip with the next clip's subtitle; a 20-minute film with "
            "the subtitle of another made from the other half of the utterances) and media without speech "
            "(3 minutes of synthesised music; a bench recording of laughter). Writing any output is wrong.",
            "",
            *refusal_table(refusals),
            "",
        ]
    md += [
        "## Word boundaries",
        "",
        "In-process, base model, words of each bench clip up to 30 s with "
        "word-level references (start and end of every word).",
        "",
        *word_lines,
        "",
    ]
    failures = [r for r in records if r["error"] and not r.get("must_refuse")]
    if failures:
        md += (
            ["## Failed runs", ""]
            + [f"- {r['case']} {r['distortion']} {r['system']}: {r['error']}" for r in failures]
            + [""]
        )
    md += ["Plots: [error CDF](cdf.png), [wall time against media length](wall.png).", ""]
    (out / "latest.md").write_text("\n".join(md))
    plot(out, records)


def plot(out: Path, records: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("bench clips: offset / drift", lambda r: r["kind"] == "clip" and "jitter" not in r["distortion"]),
        ("bench clips: + jitter", lambda r: r["kind"] == "clip" and "jitter" in r["distortion"]),
        ("film-like files", lambda r: r["kind"] == "film"),
    ]
    panels = [(title, test) for title, test in panels if any(test(r) for r in records)]
    systems = list(dict.fromkeys(r["system"] for r in records))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    grid = np.logspace(-3, 3, 400)
    for ax, (title, test) in zip(axes[0], panels):
        for system in systems:
            chosen = [r for r in records if test(r) and r["system"] == system]
            if not chosen:
                continue
            e = np.concatenate([errors(r) for r in chosen])
            ax.plot(grid, [np.mean(e <= g) for g in grid], label=system)
        ax.axvline(0.125, color="grey", lw=0.5, ls="--")
        ax.set(xscale="log", xlabel="|start error| (s)", ylabel="share of cues", title=title, ylim=(0, 1))
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "cdf.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for system in systems:
        chosen = [r for r in records if r["system"] == system and r["wall_s"] > 0]
        if chosen:
            ax.scatter([r["media_s"] for r in chosen], [r["wall_s"] for r in chosen], label=system, s=14)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="media length (s)",
        ylabel="wall time (s)",
        title="wall time per file (2 cores)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "wall.png", dpi=100)
    plt.close(fig)
