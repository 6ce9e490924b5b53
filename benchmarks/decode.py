"""Claim: decoding is never the bottleneck (>= 50,000 records per second per core).

Three record shapes: "full" pages of 100 Person records with every field of the schema set
(references, nested counts, datetimes, plus unknown fields: the worst case), "sample" pages of
the connector's sample Person (tests/fixtures/connector_samples.json: a realistic mix of nulls),
and "full" pages of Opportunity records (a model built from the current list's field facts).
Times json.loads alone, json.loads + decoding into models, and decoding alone, as CPU time of this
process (time.process_time, best of --repeat) so that other load on the machine skews it less.
Prints records/second per core and the ratio.  Bounded: a fixed number of pages, a few seconds.

    .venv/bin/python benchmarks/decode.py [--pages 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from salesloft_async._operations import SCHEMAS
from salesloft_async.models import MODELS, Model, structure_many
from salesloft_async.spec import Field

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def fake(field: Field, i: int) -> Any:
    if field.ref == "EmbeddedResource":
        ref = {"id": i, "_href": f"https://api.salesloft.com/v2/things/{i}"}
        return [ref, dict(ref)] if field.array else ref
    if field.ref:
        nested = {f.name: fake(f, i) for f in SCHEMAS[field.ref].fields}
        return [nested] if field.array else nested
    if field.array:
        return ["call", "email"]
    if field.type == "datetime":
        return (BASE + timedelta(seconds=i, microseconds=i)).isoformat()
    if field.format == "date":
        return "2024-03-01"
    return {
        "integer": i,
        "number": i / 3,
        "boolean": i % 2 == 0,
        "object": {"Tier": "A", "Segment": "Enterprise"},
    }.get(field.type, f"{field.name}-{i}")


SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "connector_samples.json"


def sample_person() -> dict[str, Any]:
    for sample in json.loads(SAMPLES.read_text()):
        if sample["title"] == "Get person":
            record: dict[str, Any] = sample["body"]["data"]
            return record
    raise SystemExit("no 'Get person' sample in the fixture")


def page(n: int, start: int, shape: str = "full", model: str = "Person") -> bytes:
    records = []
    base = sample_person() if shape == "sample" else None
    for i in range(start, start + n):
        if base is not None:
            rec = {**base, "id": i}
        else:
            rec = {f.name: fake(f, i) for f in SCHEMAS[model].fields}
            rec.update({"brand_new_field": i, "another_one": {"x": 1}})  # the API grows fields
        records.append(rec)
    body = {
        "data": records,
        "metadata": {
            "paging": {"per_page": n, "current_page": 1, "next_page": 2, "prev_page": None}
        },
    }
    return json.dumps(body).encode()


def best_of(repeat: int, fn: Any) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def measure(
    model: str, shape: str, pages: int, per_page: int, repeat: int
) -> tuple[float, float, float]:
    bodies = [page(per_page, p * per_page, shape, model) for p in range(pages)]
    cls: type[Model] = MODELS[model]
    parsed = [json.loads(b)["data"] for b in bodies]

    def loads_only() -> None:
        for b in bodies:
            json.loads(b)

    def loads_and_decode() -> None:
        for b in bodies:
            structure_many(json.loads(b)["data"], cls)

    def decode_only() -> None:
        for d in parsed:
            structure_many(d, cls)

    total = pages * per_page
    return (
        total / best_of(repeat, loads_only),
        total / best_of(repeat, loads_and_decode),
        total / best_of(repeat, decode_only),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--per-page", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    total = args.pages * args.per_page
    print(f"records per run: {total} ({args.pages} pages x {args.per_page}); CPU time")
    print(
        f"{'model':<13}{'shape':<8}{'json.loads/s':>14}{'loads+decode/s':>16}"
        f"{'decode only/s':>15}{'decode/loads time':>19}"
    )
    worst = float("inf")
    for model, shape in (("Person", "full"), ("Person", "sample"), ("Opportunity", "full")):
        loads, both, dec = measure(model, shape, args.pages, args.per_page, args.repeat)
        worst = min(worst, dec)
        print(
            f"{model:<13}{shape:<8}{loads:>14,.0f}{both:>16,.0f}{dec:>15,.0f}{loads / dec:>18.2f}x"
        )
    verdict = "PASS" if worst >= 50_000 else "FAIL"
    print(f"target >= 50,000 decoded records/s per core (worst model and shape): {verdict}")


if __name__ == "__main__":
    main()
