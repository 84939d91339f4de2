"""Charts drawn on the server as inline SVG: no script, nothing fetched by the page.

Colours come from classes in static/console.css; hovering a bar or a point shows
its figures (an SVG <title>).
"""
from markupsafe import Markup, escape


def _fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def stock_by_node(nodes, width=720):
    """Horizontal stacked bars, one per node: units reserved, held back (safety stock), available.

    nodes: dicts with node_id, status, stale, reserved_covered, held_back, available, short.
    """
    if not nodes:
        return Markup('<p class="empty">No nodes.</p>')
    row_h, label_w, right_w, top = 22, 96, 150, 26
    bar_w = width - label_w - right_w
    total = max((n["reserved_covered"] + n["held_back"] + n["available"]) for n in nodes) or 1
    height = top + row_h * len(nodes) + 8
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="units on hand by node">']
    legend = [("seg-reserved", "reserved"), ("seg-held", "safety stock"), ("seg-available", "available")]
    x = label_w
    for cls, label in legend:
        out.append(f'<rect class="{cls}" x="{x}" y="6" width="12" height="12"/>'
                   f'<text class="legend" x="{x + 16}" y="16">{label}</text>')
        x += 24 + 8 * len(label)
    for i, n in enumerate(nodes):
        y = top + i * row_h
        node = escape(n["node_id"])
        flags = "" if n["status"] == "active" and not n["stale"] else (" (stale)" if n["stale"] else f' ({n["status"]})')
        out.append(f'<text class="label" x="{label_w - 6}" y="{y + 15}" text-anchor="end">{node}</text>')
        x = label_w
        for cls, key in (("seg-reserved", "reserved_covered"), ("seg-held", "held_back"),
                         ("seg-available", "available")):
            w = bar_w * n[key] / total
            if w > 0:
                out.append(f'<rect class="{cls}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}">'
                           f'<title>{node}: {_fmt(n[key])} units {key.replace("_covered", "").replace("_", " ")}'
                           f'</title></rect>')
            x += w
        on_hand = n["reserved_covered"] + n["held_back"] + n["available"]
        note = f"{_fmt(on_hand)} on hand{flags}"
        if n["short"]:
            note += f", {_fmt(n['short'])} short"
        cls = "note warn" if n["short"] or flags else "note"
        out.append(f'<text class="{cls}" x="{x + 6:.1f}" y="{y + 15}">{escape(note)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def latency_over_time(points, window_label, width=720, height=220):
    """Feed latency p50 and p95 (seconds) per time bucket, with the events per bucket as bars.

    points: dicts with t (datetime), events, rejected, p50, p95 (seconds or None).
    """
    if not points:
        return Markup(f'<p class="empty">No events in the last {escape(window_label)}.</p>')
    left, right, top, bottom = 56, 16, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    t0, t1 = points[0]["t"].timestamp(), points[-1]["t"].timestamp()
    span = (t1 - t0) or 1
    ymax = max((p["p95"] or 0) for p in points) or 1
    emax = max(p["events"] for p in points) or 1

    def px(p):
        return left + plot_w * ((p["t"].timestamp() - t0) / span if len(points) > 1 else 0.5)

    def py(v):
        return top + plot_h * (1 - v / ymax)

    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="feed latency p50 and p95 over the last {escape(window_label)}">']
    for k in range(5):
        v = ymax * k / 4
        y = py(v)
        out.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}"/>'
                   f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)} s</text>')
    bw = max(plot_w / max(len(points), 1) * 0.6, 1.5)
    for p in points:
        h = plot_h * 0.35 * p["events"] / emax
        out.append(f'<rect class="events" x="{px(p) - bw / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bw:.1f}" '
                   f'height="{h:.1f}"><title>{p["t"]:%H:%M}: {p["events"]} events, {p["rejected"]} rejected'
                   f'</title></rect>')
    for key, cls in (("p50", "p50"), ("p95", "p95")):
        pts = [(px(p), py(p[key])) for p in points if p[key] is not None]
        if len(pts) > 1:
            out.append(f'<polyline class="{cls}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}"/>')
        for p in points:
            if p[key] is not None:
                out.append(f'<circle class="{cls}" cx="{px(p):.1f}" cy="{py(p[key]):.1f}" r="2.5">'
                           f'<title>{p["t"]:%Y-%m-%d %H:%M}: {key} {_fmt(p[key])} s over {p["events"]} events'
                           f'</title></circle>')
    for p in (points[0], points[len(points) // 2], points[-1]) if len(points) > 2 else points:
        out.append(f'<text class="axis" x="{px(p):.1f}" y="{height - 14}" text-anchor="middle">'
                   f'{p["t"]:%m-%d %H:%M}</text>')
    out.append(f'<text class="legend p50" x="{left}" y="{height - 2}">p50</text>'
               f'<text class="legend p95" x="{left + 40}" y="{height - 2}">p95</text>'
               f'<text class="legend" x="{left + 80}" y="{height - 2}">bars: events received</text>')
    out.append("</svg>")
    return Markup("".join(out))
