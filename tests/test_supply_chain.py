"""The dependency audit `make test` runs (.ci/audit_dependencies.py): what it accepts,
what it probes, and that it never reports a clean audit it could not do."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "audit_dependencies.py"
spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


class TestAcceptedVulnerabilities:
    def test_it_reads_one_id_a_line_ignoring_comments_and_blank_lines(self):
        text = "# accepted\n\nPYSEC-2026-1  # only in the admin, fixed in 5.2.20\nGHSA-abcd  # dev tool only\n"
        assert audit.accepted_vulnerabilities(text) == ["PYSEC-2026-1", "GHSA-abcd"]

    def test_an_id_without_a_reason_is_refused(self):
        with pytest.raises(ValueError, match="line 2: PYSEC-2026-2 needs a reason"):
            audit.accepted_vulnerabilities("PYSEC-2026-1  # why\nPYSEC-2026-2\n")

    def test_the_projects_own_list_reads(self):
        assert audit.accepted_vulnerabilities((SCRIPT.parent.parent / ".pip-audit-ignore").read_text()) == []


class TestProbe:
    def test_it_asks_for_the_first_pins_own_version_page(self):
        assert audit.probe_url("# pinned\ncelery[redis]==5.7.0\nDjango==5.2.19\n") == (
            "https://pypi.org/pypi/celery/5.7.0/json"
        )

    def test_an_unreachable_service_is_named_and_skips_only_when_not_required(self, monkeypatch, capsys):
        monkeypatch.setattr(audit, "service_problem", lambda url: f"{url}: HTTP Error 404")
        monkeypatch.delenv("PIP_AUDIT_REQUIRED", raising=False)
        assert audit.main() == 0
        assert "the dependencies were NOT audited" in capsys.readouterr().err
        monkeypatch.setenv("PIP_AUDIT_REQUIRED", "true")
        assert audit.main() == 1

    def test_a_reachable_service_runs_pip_audit_strictly_on_both_requirement_files(self, monkeypatch):
        ran = []
        monkeypatch.setattr(audit, "service_problem", lambda url: None)
        monkeypatch.setattr(audit, "accepted_vulnerabilities", lambda text: ["PYSEC-2026-1"])
        monkeypatch.setattr(audit.subprocess, "call", lambda command, cwd: ran.append(command) or 0)
        assert audit.main() == 0
        (command,) = ran
        assert command[1:2] == ["--strict"]
        assert [command[i + 1].rsplit("/", 1)[-1] for i, word in enumerate(command) if word == "-r"] == [
            "requirements.txt", "requirements-dev.txt"
        ]
        assert command[-2:] == ["--ignore-vuln", "PYSEC-2026-1"]
