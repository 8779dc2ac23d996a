"""Plots as plain SVG, for tests/bench/report.py: no plotting library, so
`make bench` needs nothing beyond python3. Two kinds: lines (latency
distributions) and grouped bars (ratios)."""

import math
from html import escape

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 40, 50
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
          "#e377c2", "#7f7f7f"]


def _ticks(lo, hi, n=5):
    """About n round tick values (1, 2, 2.5 or 5 times a power of ten
    apart) from lo to past hi."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    ticks = []
    t = math.floor(lo / step) * step
    while t < hi + step:
        ticks.append(round(t, 12))
        if t >= hi:
            break
        t += step
    return ticks


def _frame(title, xlabel, ylabel):
    w, h = WIDTH, HEIGHT
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">'
        f'{escape(title)}</text>',
        f'<text x="{LEFT + (w - LEFT - RIGHT) / 2}" y="{h - 10}" '
        f'text-anchor="middle">{escape(xlabel)}</text>',
        f'<text transform="translate(16,{TOP + (h - TOP - BOTTOM) / 2}) '
        f'rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>',
    ]


def _axes(out, xs, ys, sx, sy, xfmt, yfmt):
    x0, y0 = LEFT, HEIGHT - BOTTOM
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{WIDTH - RIGHT}" y2="{y0}" '
               'stroke="black"/>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{TOP}" '
               'stroke="black"/>')
    for t in xs:
        x = sx(t)
        out.append(f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y0 + 4}" '
                   'stroke="black"/>')
        out.append(f'<text x="{x}" y="{y0 + 17}" text-anchor="middle">'
                   f'{xfmt(t)}</text>')
    for t in ys:
        y = sy(t)
        out.append(f'<line x1="{x0}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4}" text-anchor="end">'
                   f'{yfmt(t)}</text>')


def _legend(out, names):
    for i, name in enumerate(names):
        y = TOP + 10 + i * 18
        x = WIDTH - RIGHT + 12
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="10" '
                   f'fill="{COLORS[i % len(COLORS)]}"/>')
        out.append(f'<text x="{x + 18}" y="{y}">{escape(name)}</text>')


def _num(v):
    return f"{v:g}" if abs(v) < 1e5 else f"{v:.0e}"


def lines(title, xlabel, ylabel, series):
    """series: [(name, [(x, y), ...])]: one line each."""
    pts = [p for _, s in series for p in s]
    if not pts:
        return None
    xlo, xhi = 0, max(x for x, _ in pts)
    ylo, yhi = 0, max(y for _, y in pts)
    xs, ys = _ticks(xlo, xhi), _ticks(ylo, yhi)
    xhi, yhi = max(xhi, xs[-1]), max(yhi, ys[-1])

    def sx(x):
        return LEFT + (x - xlo) / (xhi - xlo or 1) * (WIDTH - LEFT - RIGHT)

    def sy(y):
        return HEIGHT - BOTTOM - (y - ylo) / (yhi - ylo or 1) * (
            HEIGHT - TOP - BOTTOM)

    out = _frame(title, xlabel, ylabel)
    _axes(out, xs, ys, sx, sy, _num, _num)
    for i, (_, s) in enumerate(series):
        d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s)
        out.append(f'<polyline fill="none" stroke="{COLORS[i % len(COLORS)]}"'
                   f' stroke-width="2" points="{d}"/>')
    _legend(out, [name for name, _ in series])
    out.append("</svg>")
    return "\n".join(out) + "\n"


def bars(title, ylabel, groups, names, reference=None):
    """groups: [(label, [value per name])]: grouped bars, one color per
    name; reference: a y drawn as a dashed line (a target ratio)."""
    vals = [v for _, vs in groups for v in vs if v is not None]
    if not vals:
        return None
    yhi = max(vals + ([reference] if reference else []))
    ys = _ticks(0, yhi)
    yhi = max(yhi, ys[-1])
    span = WIDTH - LEFT - RIGHT
    slot = span / max(len(groups), 1)
    bw = slot * 0.8 / max(len(names), 1)

    def sy(y):
        return HEIGHT - BOTTOM - y / (yhi or 1) * (HEIGHT - TOP - BOTTOM)

    out = _frame(title, "", ylabel)
    _axes(out, [], ys, lambda x: x, sy, _num, _num)
    for g, (label, vs) in enumerate(groups):
        gx = LEFT + g * slot + slot * 0.1
        for i, v in enumerate(vs):
            if v is None:
                continue
            x, y = gx + i * bw, sy(v)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" '
                       f'height="{HEIGHT - BOTTOM - y:.1f}" '
                       f'fill="{COLORS[i % len(COLORS)]}"/>')
            out.append(f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" '
                       f'text-anchor="middle" font-size="10">{v:.3g}</text>')
        out.append(f'<text x="{gx + slot * 0.4:.1f}" y="{HEIGHT - BOTTOM + 17}"'
                   f' text-anchor="middle">{escape(label)}</text>')
    if reference:
        y = sy(reference)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                   f'y2="{y:.1f}" stroke="black" stroke-dasharray="6,4"/>')
    _legend(out, names)
    out.append("</svg>")
    return "\n".join(out) + "\n"
