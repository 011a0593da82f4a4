from __future__ import annotations

import argparse
import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from core.audit import acting_as
from imports import importers


class Command(BaseCommand):
    help = (
        "Imports customers, contacts, invoices or deliveries from a UTF-8 CSV file whose header row names "
        "the API's fields. All or nothing: every bad row is reported (line, field, message) and then "
        "nothing is written. Rows are matched to existing records as the bulk API does."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("kind", choices=list(importers.KINDS))
        parser.add_argument("path", help="The CSV file; - reads standard input.")
        parser.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            help="Show a progress line on stderr (default: only when stderr is a terminal).",
        )
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help="Who the audit trail names for the changes (default: ValuePulse itself).",
        )

    def handle(
        self, *args, kind: str, path: str, progress: bool | None = None, by: str | None = None, **options
    ) -> None:
        show_progress = self.stderr.isatty() if progress is None else progress
        actor = _user(by) if by else None
        with _opened(path) as file, acting_as(actor):
            progress_line = ProgressLine(self.stderr, file) if show_progress else None
            try:
                counts = importers.import_csv(kind=kind, file=file, progress=progress_line)
            except importers.BadFile as exc:
                raise CommandError(f"{'Standard input' if path == '-' else path}: {exc}") from None
            except importers.BadRows as exc:
                if progress_line:
                    progress_line.finish()
                for error in exc.errors:
                    self.stderr.write(str(error))
                raise CommandError(str(exc)) from None
            finally:
                if progress_line:
                    progress_line.finish()
        total = sum(counts.values())
        outcomes = ", ".join(f"{count:,} {outcome}" for outcome, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Imported {total:,} {kind}: {outcomes}."))


def _user(username: str):
    try:
        return get_user_model().objects.get_by_natural_key(username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"--by: no user is called {username!r}.") from None


@contextmanager
def _opened(path: str) -> Iterator[TextIO]:
    # utf-8-sig drops the byte order mark spreadsheets put first; the csv module
    # wants newline="" so that it sees line breaks inside quoted cells as they are.
    if path == "-":
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            yield stdin
        finally:
            stdin.detach()  # leave sys.stdin open
        return
    try:
        file = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    with file:
        yield file


class ProgressLine:
    """One line on stderr, rewritten in place: rows validated (with the share of the
    file read, when its size is known), then rows written."""

    def __init__(self, out: OutputWrapper, file: TextIO) -> None:
        self.out = out
        self.file = file
        self.size = _size_of(file)
        self.width = 0

    def __call__(self, stage: str, rows: int, total: int | None) -> None:
        if stage == "validated":
            text = f"Validated {rows:,} rows"
            if self.size:
                text += f" ({min(self.file.buffer.tell() * 100 // self.size, 100)}% of the file)"
        else:
            text = f"Written {rows:,} of {total:,} rows ({rows * 100 // max(total or 0, 1)}%)"
        # Padding wipes what is left of a longer previous text.
        self.out.write("\r" + text.ljust(self.width), ending="", style_func=str)
        self.out.flush()
        self.width = len(text)

    def finish(self) -> None:
        """Ends the line so that what follows starts on its own; once is enough."""
        if self.width:
            self.out.write("", style_func=str)
            self.width = 0


def _size_of(file: TextIO) -> int | None:
    """The file's size in bytes, or None for a pipe or anything else without one."""
    try:
        status = os.fstat(file.fileno())
    except (OSError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None
