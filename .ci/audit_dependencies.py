"""pip-audit over the pinned requirements, run by `make test`.

pip-audit asks PyPI's JSON API (https://pypi.org/pypi/<name>/<version>/json) for each
pinned package's known vulnerabilities. Where that API cannot be reached (a machine
whose only way out is a package mirror), pip-audit finds no package and reports
"no known vulnerabilities", which would be a lie; so the service is probed first and
the audit is skipped with a warning that says so. (On the machine this was built on,
pypi.org answers a project's page, /pypi/django/json, but 404 for a version's,
/pypi/django/5.2.19/json, and OSV's api.osv.dev does not resolve.) PIP_AUDIT_REQUIRED=true turns that
warning into a failure (for a CI that has the internet).

Accepted vulnerabilities are listed in .pip-audit-ignore, one ID a line, each with its
reason after a `#`.
"""

from __future__ import annotations

import json
import os
# Runs pip-audit with arguments of its own, never a shell.
import subprocess  # nosec B404
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".pip-audit-ignore"
REQUIREMENTS = ["requirements.txt", "requirements-dev.txt"]


def accepted_vulnerabilities(text: str) -> list[str]:
    """The IDs in a .pip-audit-ignore text; an ID without a reason is refused."""
    ids = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry, _, reason = line.partition("#")
        if not entry.strip():
            continue
        if not reason.strip():
            raise ValueError(f".pip-audit-ignore line {number}: {entry.strip()} needs a reason after '#'")
        ids.append(entry.strip())
    return ids


def probe_url(requirements: str) -> str:
    """The page pip-audit reads for the first pin: one version's page (a mirror may
    serve a project's page but not that)."""
    for line in requirements.splitlines():
        name, separator, version = line.partition("#")[0].strip().partition("==")
        if separator:
            return f"https://pypi.org/pypi/{name.split('[')[0]}/{version}/json"
    raise ValueError("requirements.txt pins nothing")


def service_problem(url: str) -> str | None:
    """Why PyPI's vulnerability data cannot be read from here, or None when it can."""
    try:
        # Always an https URL built from a pin of requirements.txt, not one a user gives.
        with urllib.request.urlopen(url, timeout=15) as response:  # nosec B310
            body = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"{url}: {error}"
    if "vulnerabilities" not in body:
        return f"{url} answered without a 'vulnerabilities' field"
    return None


def main() -> int:
    ignored = accepted_vulnerabilities(IGNORE_FILE.read_text() if IGNORE_FILE.exists() else "")
    problem = service_problem(probe_url((ROOT / REQUIREMENTS[0]).read_text()))
    if problem:
        required = os.environ.get("PIP_AUDIT_REQUIRED", "").lower() in {"1", "true", "yes"}
        print(
            f"pip-audit: the vulnerability database cannot be reached ({problem}); "
            f"the dependencies were NOT audited."
            + ("" if required else " Set PIP_AUDIT_REQUIRED=true to make this an error."),
            file=sys.stderr,
        )
        return 1 if required else 0
    command = [str(Path(sys.executable).parent / "pip-audit"), "--strict", "--progress-spinner", "off"]
    for requirements in REQUIREMENTS:
        command += ["-r", str(ROOT / requirements)]
    for vulnerability in ignored:
        command += ["--ignore-vuln", vulnerability]
    # Our own arguments, no shell.
    return subprocess.call(command, cwd=ROOT)  # nosec B603


if __name__ == "__main__":
    sys.exit(main())
