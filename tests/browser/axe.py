"""axe-core (the npm package, installed by `make setup` like htmx, never committed) run in
the page under test: what it finds serious or critical, one line per rule and element."""

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

RUN = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id}: ${n.target.join(" ")}`));
}"""


def serious_violations(page):
    """axe-core's serious and critical violations on the page as it stands now."""
    # Evaluated, not added as a <script>: the page's CSP allows no inline script, rightly.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(RUN)
