"""PNG chart of a spike run: arrival and processing rates above, queue depth below, on one time axis."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen before pyplot is imported)


def plot_run(path, rows, shape_start, spike_window, capacity, sent=None, drain_end=None, title=""):
    """Write the chart to `path`.

    `rows` are summary.timeline() rows, `spike_window` the (start, end) epoch seconds of the spike,
    `sent` optional (time, rate) points of the requests Locust sent, `drain_end` the epoch second the
    backlog was gone.
    """
    elapsed = [row["time"] - shape_start for row in rows]
    figure, (rates, depth) = plt.subplots(2, 1, sharex=True, figsize=(11, 7.5), height_ratios=(3, 2))
    for axes in (rates, depth):
        axes.axvspan(spike_window[0] - shape_start, spike_window[1] - shape_start, color="tab:red", alpha=0.08,
                     label="spike window")
        axes.grid(alpha=0.3)
        if drain_end is not None:
            axes.axvline(drain_end - shape_start, color="tab:green", linestyle=":", label="queue drained")

    if sent:
        rates.plot([time - shape_start for time, _ in sent], [rate for _, rate in sent], color="tab:gray",
                   linewidth=0.8, alpha=0.7, label="sent by Locust (req/s)")
    rates.plot(elapsed, _values(rows, "arrival_rate"), color="tab:red", label="arrival: accepted (req/s)")
    rates.plot(elapsed, _values(rows, "processing_rate"), color="tab:blue", linewidth=2,
               label="processing (msg/s)")
    rates.axhline(capacity, color="tab:blue", linestyle="--", linewidth=1, label=f"consumer capacity {capacity:g} msg/s")
    rates.set_ylabel("per second")
    rates.set_ylim(bottom=0)
    rates.legend(loc="upper right", fontsize=8)
    rates.set_title(title, fontsize=10)

    depth.step(elapsed, _values(rows, "messages"), where="post", color="tab:purple",
               label="queue messages (management API, 5 s refresh)")
    depth.plot(elapsed, _values(rows, "backlog"), color="tab:orange", linewidth=1,
               label="backlog: accepted minus processed")
    depth.set_ylabel("messages")
    depth.set_xlabel("seconds since the load started")
    depth.set_ylim(bottom=0)
    depth.legend(loc="upper right", fontsize=8)

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _values(rows, key):
    return [float("nan") if row.get(key) is None else row[key] for row in rows]
