"""latency.png: latency distributions, pillarbox beside Dovecot, all rounds pooled.

One panel per scenario (the client mix: one per number of users); each box
spans p25-p75 with the median marked, whiskers reach p1 and p99.
"""

from __future__ import annotations

from pathlib import Path

from bench.runner import RunResults

COLORS = {"pillarbox": "#d9822b", "dovecot": "#2b7bd9"}


def panels(results: RunResults) -> dict[str, dict[str, dict[str, list[float]]]]:
    """{panel title: {sample key: {server: samples in ms}}}."""
    found: dict[str, dict[str, dict[str, list[float]]]] = {}
    for scenario in results.scenarios:
        for server in results.servers:
            for outcome in results.cell(scenario.name, server.name).rounds:
                for key, samples in outcome.samples.items():
                    if scenario.name == "mix":
                        level, _, name = key.partition(".")
                        users = int(level[1:])
                        title = f"{scenario.title}, {users} user{'s' if users != 1 else ''}"
                    else:
                        title, name = scenario.title, key
                    found.setdefault(title, {}).setdefault(name, {}).setdefault(server.name, []).extend(samples)
    return found


def write_plot(results: RunResults, path: Path) -> bool:
    """False when there is nothing to plot or matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install '.[bench]'): no latency.png")
        return False
    found = panels(results)
    if not found:
        return False
    figure, axes = plt.subplots(len(found), 1, figsize=(12, 3.6 * len(found)), squeeze=False)
    for axis, (title, series) in zip(axes[:, 0], found.items(), strict=True):
        draw_panel(axis, title, series)
    figure.suptitle(f"Latency distributions, pillarbox vs Dovecot ({results.started})", fontsize=13)
    figure.tight_layout(rect=(0, 0, 1, 0.98))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return True


def draw_panel(axis, title: str, series: dict[str, dict[str, list[float]]]) -> None:
    names = list(series)
    for offset, server in ((-0.2, "pillarbox"), (0.2, "dovecot")):
        positions = [i + offset for i, name in enumerate(names) if series[name].get(server)]
        data = [series[name][server] for name in names if series[name].get(server)]
        if not data:
            continue
        boxes = axis.boxplot(data, positions=positions, widths=0.35, whis=(1, 99), showfliers=False,
                             patch_artist=True, manage_ticks=False)
        for box in boxes["boxes"]:
            box.set_facecolor(COLORS[server])
            box.set_alpha(0.75)
        for median_line in boxes["medians"]:
            median_line.set_color("black")
        axis.plot([], [], color=COLORS[server], linewidth=8, alpha=0.75,
                  label="Dovecot" if server == "dovecot" else "pillarbox")
    axis.set_xlim(-0.6, max(len(names), 4) - 0.4)          # keeps a lone box narrow
    axis.set_xticks(range(len(names)))
    axis.set_xticklabels([name.replace("_", " ") for name in names], fontsize=9)
    axis.set_yscale("log")
    axis.set_ylabel("ms (log scale)")
    axis.set_xlabel("box: p25-p75 and median; whiskers: p1-p99", fontsize=8)
    axis.set_title(title)
    axis.grid(axis="y", which="both", alpha=0.3)
    axis.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8, frameon=False)
