"""Top-1 / top-3 skill accuracy of the offline diagnosis engine on a held-out 20 %."""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from generate import generate

from kerops.operations.diagnosis_engine import Doc, Index, diagnose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tickets = generate(args.tickets, args.seed)
    order = list(range(len(tickets)))
    random.Random(args.seed).shuffle(order)
    cut = int(len(order) * 0.8)
    train, test = order[:cut], order[cut:]

    def doc(i: int, with_skill: bool) -> Doc:
        t = tickets[i]
        return Doc(
            ticket_id=str(i),
            number=i + 1,
            title=t.title,
            description=t.description,
            skill=t.skill if with_skill else None,
            asset_id=t.asset,
            category=t.category,
        )

    index = Index([doc(i, True) for i in train])
    majority = Counter(tickets[i].skill for i in train).most_common(1)[0][0]
    top1 = top3 = base = 0
    confident = confident_right = 0
    started = time.perf_counter()
    for i in test:
        result = diagnose(doc(i, False), index)
        truth = tickets[i].skill
        top1 += result.skill == truth
        top3 += truth in result.skills_ranked[:3]
        base += majority == truth
        if result.confidence >= 0.6:
            confident += 1
            confident_right += result.skill == truth
    elapsed = time.perf_counter() - started
    n = len(test)
    print(f"tickets: {len(tickets)} (history {len(train)}, held out {n}), seed {args.seed}")
    print(f"majority-class baseline ({majority}): top-1 {base / n:.1%}")
    print(f"offline engine: top-1 {top1 / n:.1%}, top-3 {top3 / n:.1%}")
    print(
        f"confidence >= 0.6: {confident / n:.1%} of tickets, "
        f"top-1 {confident_right / max(confident, 1):.1%} among them"
    )
    print(f"time per diagnosis: {elapsed / n * 1000:.2f} ms")


if __name__ == "__main__":
    main()
