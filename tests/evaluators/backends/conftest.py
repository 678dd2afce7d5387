"""Figures the engine tests report (vLLM prefix-cache hit rate, score agreement), printed at the end of the run."""

from __future__ import annotations

import pytest

REPORT: list[str] = []


@pytest.fixture(scope="session")
def report() -> list[str]:
    """Append a line here to have it printed in the terminal summary."""
    return REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("vLLM backend figures")
        for line in REPORT:
            terminalreporter.write_line(line)
