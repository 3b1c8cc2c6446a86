"""summary.json and report.html (a template: report.html beside this file)."""

import html
import os
import string

from .common import read_json, write_atomic, write_json
from .findings import collect_escapes, collect_findings, collect_suppressed
from .history import read_history, status_of
from .state import RunState

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.html")

# ------------------------------------------------------------------------ report

def svg_plot(series, width=560, height=160):
    """Coverage over time as one inline SVG polyline (no scripts, no network)."""
    if len(series) < 1:
        return "<p>(no coverage samples)</p>"
    pad = 36
    tmax = max(1, max(s["t"] for s in series))
    cmin = min(s["cov"] for s in series)
    cmax = max(s["cov"] for s in series)
    span = max(1, cmax - cmin)
    points = []
    for s in series:
        x = pad + (width - 2 * pad) * s["t"] / tmax
        y = height - pad + (-(height - 2 * pad) * (s["cov"] - cmin) / span)
        points.append(f"{x:.1f},{y:.1f}")
    if len(points) == 1:
        points.append(points[0].replace(points[0].split(",")[0], f"{width - pad:.1f}", 1))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="coverage over time">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" stroke="#ccc"/>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>'
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="{" ".join(points)}"/>'
        f'<text x="{pad}" y="{pad - 8}" font-size="11">cov {cmax}</text>'
        f'<text x="{pad}" y="{height - pad + 14}" font-size="11">0 s · cov {cmin}</text>'
        f'<text x="{width - pad}" y="{height - pad + 14}" font-size="11" text-anchor="end">{tmax} s</text>'
        f"</svg>")




def svg_nights(values, label, width=280, height=90):
    """One figure across nights as a small inline SVG (None where a night has no figure)."""
    points = [(i, v) for i, v in enumerate(values) if isinstance(v, (int, float))]
    if not points:
        return "<span>—</span>"
    pad = 8
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span = (hi - lo) or 1
    n = max(1, len(values) - 1)
    xy = [(pad + (width - 2 * pad) * i / n, height - pad - (height - 2 * pad) * (v - lo) / span) for i, v in points]
    if len(xy) == 1:
        xy.append((width - pad, xy[0][1]))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{label} across nights"><rect width="{width}" height="{height}" fill="#fafafa" stroke="#ccc"/>'
            f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" '
            f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in xy)}"/>'
            f'<text x="{pad}" y="{pad + 9}" font-size="10">{label} {hi:g}</text>'
            f'<text x="{pad}" y="{height - 2}" font-size="10">{lo:g}</text></svg>')


def checks_cell(checks, e):
    if not checks:
        return ""
    never = ", ".join(checks.get("never_past", [])[:12])
    return (f"{checks['callables_past']}/{checks['callables']} callables, {checks['calls_past']}/{checks['calls']} calls"
            + (f"<br><small>never past: {e(never)}</small>" if never else ""))


def history_html(nights, e):
    """Per target: coverage and exec/s across the nights of history.json, the last ones listed."""
    if not nights:
        return "<p>No finished night yet.</p>"
    names = sorted({name for n in nights for name in n["targets"]})
    out = [f"<p>{len(nights)} finished night(s), from {e(nights[0]['run'])} to {e(nights[-1]['run'])}.</p>",
           "<table><tr><th>target</th><th>edge coverage</th><th>exec/s</th><th>last nights (cov, exec/s, findings)</th></tr>"]
    for name in names:
        per = [n["targets"].get(name, {}) for n in nights]
        recent = "<br>".join(f"{e(n['run'])}: {t.get('cov', '—')}, {t.get('exec_s', '—')}, {t.get('unique_findings', 0)}"
                             for n, t in list(zip(nights, per))[-5:] if t)
        out.append(f"<tr><td>{e(name)}</td><td>{svg_nights([t.get('cov') for t in per], 'cov')}</td>"
                   f"<td>{svg_nights([t.get('exec_s') for t in per], 'exec/s')}</td><td>{recent}</td></tr>")
    out.append("</table>")
    areas = sorted({a for n in nights for a in n.get("line_coverage", {})})
    if areas:
        out.append("<table><tr><th>line coverage</th><th>across nights</th><th>last</th></tr>")
        for a in areas:
            values = [n.get("line_coverage", {}).get(a) for n in nights]
            last = next((v for v in reversed(values) if v is not None), None)
            out.append(f"<tr><td>{e(a)}</td><td>{svg_nights(values, '%')}</td>"
                       f"<td>{'' if last is None else f'{last:.2f}%'}</td></tr>")
        out.append("</table>")
    return "".join(out)


def write_reports(args, run_state: RunState):
    findings = collect_findings(args.out)
    escapes = collect_escapes(args.out)
    suppressed = collect_suppressed(args.out)
    coverage = read_json(os.path.join(args.out, "coverage", "coverage.json"), None)
    summary = {
        "escapes": escapes, "suppressed": suppressed,
        "run": run_state["id"], "preset": run_state["preset"], "minutes": run_state["minutes"],
        "executions": run_state.get("executions"),
        "canary": run_state.get("canary"), "complete": run_state.get("complete", False),
        "targets": run_state["targets"], "findings": findings,
        "new_findings": run_state.get("new_findings", []), "coverage": coverage,
    }
    write_json(os.path.join(args.out, "summary.json"), summary)

    e = html.escape
    rows, plots = [], []
    for name, t in run_state["targets"].items():
        last = t.get("series", [])[-1:] or [{}]
        rows.append(
            f"<tr><td>{e(name)}</td><td>{t.get('status', 'pending')}</td><td>{t.get('seconds', 0)}</td>"
            f"<td>{last[0].get('execs', '')}</td><td>{last[0].get('exec_s', '')}</td><td>{last[0].get('cov', '')}</td>"
            f"<td>{t.get('corpus_files', '')}</td><td>{t.get('unique_findings', 0)}</td>"
            f"<td>{checks_cell(t.get('argument_checks'), e)}</td></tr>")
        plots.append(f"<figure><figcaption>{e(name)}: edge coverage over time</figcaption>"
                     f"{svg_plot(t.get('series', []))}</figure>")
    def links(f):
        folder = f"crashes/{f['target']}/{f['signature']}"
        return (f'<a href="{e(folder)}/input">input</a> · <a href="{e(folder)}/report.txt">report</a> · '
                f'<a href="{e(folder)}/explain.txt">explain</a>')

    status = {(f["target"], f["signature"]): status_of(f, run_state) for f in findings}  # once a finding
    order = {"new": 0, "known": 1, "fixed": 2}
    findings.sort(key=lambda f: (order[status[f["target"], f["signature"]]], f.get("first_seen", "")))
    frows = [
        f"<tr class=\"{status[f['target'], f['signature']]}\"><td>{status[f['target'], f['signature']]}"
        f"{' in ' + e(f['fixed_in']) if f.get('fixed_in') else ''}</td>"
        f"<td>{e(f.get('first_seen', '')[:10])}<br>{e(f.get('run', ''))}</td>"
        f"<td>{e(f['target'])}</td><td><code>{e(f['signature'])}</code></td>"
        f"<td><code>{e(f['first_line'])}</code></td><td>{f.get('count', 1)}</td>"
        f"<td>{'yes' if f.get('confirmed') else 'no'}</td><td>{f.get('input_bytes', '')}</td>"
        f"<td>{links(f)}<br><code>{e(f['reproduce'])}</code><br><code>{e(f['explain'])}</code></td></tr>"
        for f in findings]
    cov_html = "<p>Coverage was not measured in this run.</p>"
    if coverage:
        cov_html = ("<table><tr><th>area</th><th>lines</th><th>covered</th></tr>" + "".join(
            f"<tr><td>{e(k)}</td><td>{v['lines']}</td><td>{v['percent']:.2f}%</td></tr>"
            for k, v in coverage.items()) + "</table><p><a href=\"coverage/html/index.html\">"
            "line-by-line coverage (llvm-cov)</a></p>")
    shapes = read_json(os.path.join(args.out, "coverage", "shapes.json"), None)
    if shapes:
        cov_html += (f"<p>Shape table (<code>shapes.def</code>): {shapes['reached']} of {shapes['meaningful']} "
                     f"meaningful cells reached ({shapes['percent']:.2f}%); never reached: "
                     f"{e(', '.join(shapes.get('never_reached', [])[:20]))}"
                     f"{' …' if len(shapes.get('never_reached', [])) > 20 else ''}</p>")
    escape_rows = "".join(
        f"<tr><td>{e(x['target'])}</td><td><code>{e(x['signature'])}</code></td><td>{x.get('count', 1)}</td>"
        f"<td><code>{e(x['reproduce'])}</code></td></tr>" for x in escapes)
    with open(TEMPLATE) as f:
        template = string.Template(f.read())
    page = template.substitute(
        run_id=e(run_state["id"]), preset=e(run_state["preset"]),
        canary=f", canary <code>{e(run_state['canary'])}</code>" if run_state.get("canary") else "",
        budget=(f"{run_state['executions']} executions a target (at most {run_state['minutes']} min each)"
                if run_state.get("executions") else f"{run_state['minutes']} min"), completeness="complete" if run_state.get("complete") else "incomplete",
        verdict_class="bad" if any(v != "fixed" for v in status.values()) else "good",
        finding_count=len(findings),
        new_count=len(run_state.get("new_findings", [])), target_rows="".join(rows), plots="".join(plots),
        findings=("<table><tr><th>status</th><th>first seen</th><th>target</th><th>signature</th><th>first line</th>"
                  "<th>seen</th><th>confirmed</th><th>bytes</th><th>reproduce</th></tr>" + "".join(frows) +
                  "</table>") if frows else "<p>None.</p>",
        history=history_html(read_history(args.out), e),
        suppressed=("<table><tr><th>target</th><th>signature</th><th>reason</th><th>seen</th><th>first line</th></tr>" +
                    "".join(f"<tr><td>{e(x['target'])}</td><td><code>{e(x['signature'])}</code></td>"
                            f"<td>{e(x.get('reason', ''))}</td><td>{x.get('count', 1)}</td>"
                            f"<td><code>{e(x.get('first_line', ''))}</code></td></tr>" for x in suppressed) +
                    "</table>") if suppressed else "<p>None.</p>",
        escapes=("<table><tr><th>target</th><th>signature</th><th>seen</th><th>reproduce</th></tr>" + escape_rows +
                 "</table>") if escapes else "<p>None.</p>",
        coverage=cov_html)
    write_atomic(os.path.join(args.out, "report.html"), page)
