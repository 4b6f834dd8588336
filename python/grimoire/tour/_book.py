"""The tour as one self-contained HTML book: every section in the primer's order with the
primer's formula (rendered offline by matplotlib's mathtext into inline SVG), the code that
produced it, what it printed, and its figures embedded as PNG data. It opens offline in any
browser; a small script at the end records on ``<body>`` how many figures loaded and how many
are broken, which the browser test reads back.
"""

from __future__ import annotations

import base64
import html
import inspect
import io
from pathlib import Path

# The primer's formula for a section, where it has one (mathtext: a subset of LaTeX).
FORMULAS = {
    "2.1.1": r"$T(n) = O(f(n)) \Leftrightarrow \exists\, c, n_0: T(n) \leq c\,f(n)\ \forall n \geq n_0$",
    "2.2.1": r"$(AB)_{ij} = \sum_k A_{ik} B_{kj}$",
    "2.2.2": r"$\det(A) = \sum_j (-1)^{i+j} a_{ij} M_{ij}$",
    "2.2.3": r"$A v = \lambda v$",
    "2.3.1": r"$\theta \leftarrow \theta - \eta \nabla_\theta L(\theta)$",
    "2.3.3": r"$\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}\frac{\partial y}{\partial x}$",
    "2.4.1": r"$f(x) = \frac{1}{\sigma\sqrt{2\pi}} e^{-\frac{(x-\mu)^2}{2\sigma^2}}$",
    "2.4.2": r"$P(A|B) = \frac{P(B|A)\,P(A)}{P(B)}$",
    "3.5": r"$\frac{\max d - \min d}{\min d} \to 0 \quad (d \to \infty)$",
    "4.1.1": r"$\hat{y} = X\beta, \quad \beta = (X^T X)^{-1} X^T y$",
    "4.1.2": r"$\min_{w,b} \frac{1}{2}\|w\|^2 \;\mathrm{s.t.}\; y_i(w^T x_i + b) \geq 1$",
    "4.2.1": r"$\min \sum_i \|x_i - \mu_{c(i)}\|^2$",
    "4.3.1": r"$Q(s,a) \leftarrow Q(s,a) + \alpha [r + \gamma \max_{a'} Q(s',a') - Q(s,a)]$",
    "5.1.1": r"$y = f(w^T x + b)$",
    "5.1.3": r"$\delta^{(l)} = (W^{(l+1)})^T \delta^{(l+1)} \odot f'(z^{(l)})$",
    "5.2.3": r"$(I * K)(i,j) = \sum_m \sum_n I(i+m, j+n) K(m,n)$",
    "5.3": r"$c_t = f_t \odot c_{t-1} + i_t \odot \tilde{c}_t,\quad h_t = o_t \odot \tanh(c_t)$",
    "5.4": r"$\mathrm{Attention}(Q,K,V) = \mathrm{softmax}(\frac{QK^T}{\sqrt{d_k}}) V$",
    "6.3": r"$\mathrm{MSE} = \frac{1}{n}\sum_i (y_i - \hat{y}_i)^2$",
    "6.5.1": r"$m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\; v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$",
    "6.5.2": r"$\hat{x} = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}},\quad y = \gamma \hat{x} + \beta$",
    "7.2": r"$x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$",
    "7.4": r"$h_v^{(k)} = \sigma(W \cdot \mathrm{AGG}(\{h_u^{(k-1)}: u \in N(v)\}))$",
}

_STYLE = """
body { font-family: Georgia, serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 3rem; }
nav li { margin: .1rem 0; } .where { color: #666; font-size: .9rem; font-family: monospace; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; font-size: .8rem; }
details summary { cursor: pointer; color: #555; } figure { margin: 1.5rem 0; text-align: center; }
figure img { max-width: 100%; } figcaption { font-style: italic; color: #444; }
.formula { margin: 1rem 0; }
"""

_CHECK = """
window.addEventListener('load', function () {
  var imgs = document.images, broken = 0;
  for (var i = 0; i < imgs.length; i++) if (!imgs[i].complete || imgs[i].naturalWidth === 0) broken++;
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-broken-images', broken);
  document.body.setAttribute('data-sections', document.querySelectorAll('section.tour').length);
});
"""


def formula_svg(tex: str) -> str:
    """A formula rendered by matplotlib's mathtext as an inline SVG (no network, no LaTeX)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(0.01, 0.01))
    fig.text(0, 0, tex, fontsize=15)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05, transparent=True)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    if "<metadata>" in svg:  # creator/date metadata: not part of the picture
        svg = svg[: svg.index("<metadata>")] + svg[svg.index("</metadata>") + len("</metadata>") :]
    return svg


def _png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def write_book(results, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` from the sections that ran (tour.Ran records)."""
    from . import figures as all_figures

    out_dir.mkdir(parents=True, exist_ok=True)
    toc, body = [], []
    for ran in results:
        s = ran.section
        anchor = "s" + s.number.replace(".", "-")
        toc.append(f'<li><a href="#{anchor}">{s.number} {html.escape(s.title)}</a></li>')
        parts = [
            f'<section class="tour" id="{anchor}"><h2>{s.number} {html.escape(s.title)}</h2>',
            f'<div class="where">{html.escape(s.where)}</div>',
        ]
        tex = FORMULAS.get(s.number) or FORMULAS.get(s.number.rsplit(".", 1)[0])
        if tex:
            parts.append(f'<div class="formula">{formula_svg(tex)}</div>')
        code = inspect.getsource(s.run)
        for f, _ in ran.figures:
            code += "\n\n" + inspect.getsource(f.draw)
        parts.append(f"<details><summary>the code</summary><pre>{html.escape(code)}</pre></details>")
        parts.append(f"<pre>{html.escape(ran.output.strip())}</pre>")
        for f, path in ran.figures:
            if path is not None:
                parts.append(
                    f'<figure id="figure-{f.number}"><img alt="Figure {f.number}" src="{_png(path)}">'
                    f"<figcaption>Figure {f.number}: {html.escape(f.title)}</figcaption></figure>"
                )
        parts.append("</section>")
        body.append("\n".join(parts))
    shown = sum(1 for r in results for _, p in r.figures if p is not None)
    total = len(all_figures())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The ML Grimoire, computed</title>
<style>{_STYLE}</style></head><body>
<h1>The ML Grimoire, computed by grimoire</h1>
<p>{len(results)} sections and {shown} of the primer's {total} figures, each computed by grimoire as you read
it. Each section shows the primer's formula, the code that ran, what it printed and its figures.</p>
<nav><ol>{"".join(toc)}</ol></nav>
{"".join(body)}
<script>{_CHECK}</script>
</body></html>
"""
    path = out_dir / "index.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
