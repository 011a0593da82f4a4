from __future__ import annotations

from django.core.management.base import BaseCommand

from insights.dashboard import counts, latest_counts, rollups


class Command(BaseCommand):
    help = (
        "Rebuilds what the insights read instead of every answer: each customer's latest answer "
        "(LatestAnswer) and their counts (LatestAnswerCount), and the answer and invitation counts. With "
        "--verify, first says whether the latest answers and their counts differed from the answers, and "
        "rebuilds them only then."
    )

    def add_arguments(self, parser):
        parser.add_argument("--verify", action="store_true", help="Check the latest answers; rebuild only if wrong.")

    def handle(self, *args, verify: bool = False, **options):
        if verify:
            differed = rollups.verify()
            word = f"{differed} rows differed from the answers: rebuilt" if differed else "true to the answers"
            self.stdout.write(f"Latest answers: {word}.")
            differed = latest_counts.verify()
            word = f"{differed} rows differed: rebuilt" if differed else "true to the latest answers"
            self.stdout.write(f"Latest answer counts: {word}.")
        else:
            rollups.rebuild()
            self.stdout.write("Latest answers and their counts rebuilt.")
        state = counts.rebuild()
        self.stdout.write(self.style.SUCCESS(f"Answer counts rebuilt; days before {state.settled_before} are settled."))
