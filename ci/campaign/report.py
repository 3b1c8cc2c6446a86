"""summary.json and report.html (a template: report.html beside this file)."""

import html
import os
import string

from .common import read_json, write_atomic, write_json
from .findings import collect_escapes, collect_findings
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




def write_reports(args, run_state: RunState):
    findings = collect_findings(args.out)
    escapes = collect_escapes(args.out)
    coverage = read_json(os.path.join(args.out, "coverage", "coverage.json"), None)
    summary = {
        "escapes": escapes,
        "run": run_state["id"], "preset": run_state["preset"], "minutes": run_state["minutes"],
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
            f"<td>{last[0].get('exec_s', '')}</td><td>{last[0].get('cov', '')}</td>"
            f"<td>{t.get('corpus_files', '')}</td><td>{t.get('unique_findings', 0)}</td></tr>")
        plots.append(f"<figure><figcaption>{e(name)}: edge coverage over time</figcaption>"
                     f"{svg_plot(t.get('series', []))}</figure>")
    frows = [
        f"<tr><td>{e(f['target'])}</td><td><code>{e(f['signature'])}</code></td>"
        f"<td><code>{e(f['first_line'])}</code></td><td>{f.get('count', 1)}</td>"
        f"<td>{'yes' if f.get('confirmed') else 'no'}</td><td>{f.get('input_bytes', '')}</td>"
        f"<td><code>{e(f['reproduce'])}</code><br><code>{e(f['explain'])}</code></td></tr>"
        for f in findings]
    cov_html = "<p>Coverage was not measured in this run.</p>"
    if coverage:
        cov_html = ("<table><tr><th>area</th><th>lines</th><th>covered</th></tr>" + "".join(
            f"<tr><td>{e(k)}</td><td>{v['lines']}</td><td>{v['percent']:.2f}%</td></tr>"
            for k, v in coverage.items()) + "</table><p><a href=\"coverage/html/index.html\">"
            "line-by-line coverage (llvm-cov)</a></p>")
    escape_rows = "".join(
        f"<tr><td>{e(x['target'])}</td><td><code>{e(x['signature'])}</code></td><td>{x.get('count', 1)}</td>"
        f"<td><code>{e(x['reproduce'])}</code></td></tr>" for x in escapes)
    with open(TEMPLATE) as f:
        template = string.Template(f.read())
    page = template.substitute(
        run_id=e(run_state["id"]), preset=e(run_state["preset"]),
        canary=f", canary <code>{e(run_state['canary'])}</code>" if run_state.get("canary") else "",
        minutes=run_state["minutes"], completeness="complete" if run_state.get("complete") else "incomplete",
        verdict_class="bad" if findings else "good", finding_count=len(findings),
        new_count=len(run_state.get("new_findings", [])), target_rows="".join(rows), plots="".join(plots),
        findings=("<table><tr><th>target</th><th>signature</th><th>first line</th><th>seen</th><th>confirmed</th>"
                  "<th>bytes</th><th>reproduce</th></tr>" + "".join(frows) + "</table>") if frows else "<p>None.</p>",
        escapes=("<table><tr><th>target</th><th>signature</th><th>seen</th><th>reproduce</th></tr>" + escape_rows +
                 "</table>") if escapes else "<p>None.</p>",
        coverage=cov_html)
    write_atomic(os.path.join(args.out, "report.html"), page)
