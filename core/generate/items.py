"""The work items of a generated tenant: one definition, written twice — in Python and in SQL.

Every item draws 16 bytes from a 32-bit integer hash of (seed, person's index, day,
item of the day) and maps them to its fields the same way in both: the task type among
the person's position's catalogue, quantity, complexity level, status (about 90 % done,
7 % in progress, 3 % cancelled), deadline, lateness (8 % of the done ones), completion
time, unreported results (3 %), failed reviews (5 %), stars, declaration time (planned
when before the tenant's morning cut-off), role and priority. Eight items a person a
working day, of about 45 credited minutes each: some 6 declared hours a day.

On PostgreSQL the rows are made where they are written — `INSERT … SELECT` over the
people × working days × 8, one statement per block of people, on several connections
at once — because making 8.8 million rows in Python and copying them took minutes
before the database had written one (docs/benchmarks.md). SQLite (and any other
database) gets the same rows from Python in batches. tests/generate/test_generate.py checks that
the SQL gives exactly the rows of the Python definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from core.bulk import copy_rows
from core.extensions import db
from core.tenancy import rls
from core.work.models import WorkItem

ITEMS_PER_DAY = 8
PEOPLE_PER_BLOCK = 500  # one INSERT … SELECT: 500 people × ~22 days × 8 ≈ 88,000 rows
MASK = 0xFFFFFFFF
MIX = 0x45D9F3B  # the multiplier of a well-known 32-bit integer hash; < 2**27, so no bigint overflow in SQL
PERSON, DAY, SEED = 0x27D4EB2F, 0x165667B1, 0x9E3779B1
EPOCH = date(2000, 1, 1).toordinal()
# What the bytes choose (a byte is 0–255; "x < 20" happens 20/256 of the time).
LEVELS = (1, 2, 2, 2, 3)
COEFFICIENTS = {1: Decimal("0.8"), 2: Decimal("1.0"), 3: Decimal("1.3")}
DEADLINE_DAYS = (0, 0, 1, 2, 5)
STARS = (5, 5, 4, 4, 4, 3, 2)
PRIORITIES = (1, 1, 1, 2, 3)
PROGRESS = (20, 50, 80)
DONE, IN_PROGRESS = 230, 248  # below 230: done (89.8 %); below 248: in progress (7 %); else cancelled
DOUBLE = 52       # quantity 2 for a short task (≤ 45 minutes): 20 %
LATE = 20         # a done item finished after its deadline: 7.8 %
UNREPORTED = 8    # a done item whose result was not reported: 3.1 %
FAILED = 13       # a done item that failed a review once: 5.1 %
RATED = 205       # a done item with stars: 80 %
LEAD = 218        # lead (not support) role: 85 %
COLUMNS = ("tenant_id", "employee_id", "task_type_id", "norm_version_id", "title", "work_date", "quantity",
           "complexity_level", "norm_minutes", "product_weight", "complexity_coefficient", "status", "progress",
           "planned", "role", "priority", "outside_position", "deadline", "original_deadline", "missed_before",
           "missed_deadlines", "declared_at", "completed_at", "reported_at", "not_reported", "failed_reviews",
           "stars", "satisfaction", "exempt", "verification", "updated_at")


@dataclass(frozen=True)
class Choice:
    """A task type a position may declare, with its norm in force."""
    task_type_id: int
    norm_version_id: int
    minutes: Decimal
    weight: Decimal
    title: str


@dataclass(frozen=True)
class Month:
    tenant_id: int
    seed: int
    days: Sequence[date]  # the working days
    zone: str
    cutoff: time  # the tenant's morning cut-off: declared before it = planned


def _mix(x: int) -> int:
    x = ((x >> 16) ^ x) * MIX & MASK
    x = ((x >> 16) ^ x) * MIX & MASK
    return (x >> 16) ^ x


def draws(seed: int, person: int, day: date, k: int) -> list[int]:
    """The 16 bytes of item `k` of the `person`-th generated person on `day`."""
    base = seed * SEED + person * PERSON + (day.toordinal() - EPOCH) * DAY + k * 4
    out = []
    for j in range(4):
        h = _mix((base + j) & MASK)
        out += [h & 255, (h >> 8) & 255, (h >> 16) & 255, h >> 24]
    return out


def item(month: Month, employee_id: int, choices: Sequence[Choice], day: date, b: Sequence[int]) -> tuple:
    """The row (in COLUMNS order) that the bytes `b` make; the SQL below mirrors it line by line."""
    zone = ZoneInfo(month.zone)
    morning = datetime.combine(day, time(7, 40), zone)
    c = choices[(b[0] << 8 | b[1]) % len(choices)]
    quantity = 2 if c.minutes <= 45 and b[2] < DOUBLE else 1
    level = LEVELS[b[3] % 5]
    status = "done" if b[4] < DONE else "in_progress" if b[4] < IN_PROGRESS else "cancelled"
    done = status == "done"
    deadline = day + timedelta(days=DEADLINE_DAYS[b[5] % 5])
    late = done and b[6] < LATE
    declared = morning + timedelta(minutes=b[12] * 141 // 256 - 20)
    # Finished 1 to 9 hours after it was declared; a late item after its deadline's day.
    finished = declared + timedelta(days=(deadline - day).days + 1 if late else 0, minutes=60 + b[7] * 15 // 8)
    unreported = done and b[8] < UNREPORTED
    stars = STARS[b[11] % 7] if done and b[10] < RATED else None
    return (month.tenant_id, employee_id, c.task_type_id, c.norm_version_id, c.title, day, quantity, level,
            c.minutes, c.weight, COEFFICIENTS[level], status,
            100 if done else 0 if status == "cancelled" else PROGRESS[b[15] % 3],
            declared < datetime.combine(day, month.cutoff, zone), "lead" if b[13] < LEAD else "support",
            PRIORITIES[b[14] % 5], False, deadline, deadline, 0, 1 if late else 0, declared,
            finished if done else None, finished + timedelta(days=2 if unreported else 0) if done else None,
            unreported, 1 if done and b[9] < FAILED else 0, stars, stars, False, "verified", declared)


def python_rows(month: Month, people: Sequence[tuple[int, int, int]], choices: dict[int, list[Choice]]
                ) -> Iterator[tuple]:
    """Rows of `people` ((index, employee id, position id) each), day by day."""
    for day in month.days:
        for index, employee_id, position_id in people:
            for k in range(ITEMS_PER_DAY):
                yield item(month, employee_id, choices[position_id], day, draws(month.seed, index, day, k))


def _byte(h: str, n: int) -> str:
    return f"(({h} >> {8 * n}) & 255)"


def _sql() -> str:
    """INSERT … SELECT of a block of people (arrays :idx, :ids, :pos and :choices, the size
    of their position's catalogue) over the month's days (:days, :dns — days since 2000).
    OFFSET 0 keeps each step a separate subquery: otherwise PostgreSQL substitutes every
    reference by its whole expression and the hash is computed many times a row."""
    keys = ", ".join(f"(:s + p.idx * {PERSON} + d.dn * {DAY} + k.k * 4 + {j}) & {MASK} AS x{j}" for j in range(4))
    round1 = ", ".join(f"((x{j} >> 16) # x{j}) * {MIX} & {MASK} AS y{j}" for j in range(4))
    round2 = ", ".join(f"((y{j} >> 16) # y{j}) * {MIX} & {MASK} AS z{j}" for j in range(4))
    final = ", ".join(f"(z{j} >> 16) # z{j} AS h{j}" for j in range(4))
    b = [_byte(f"h{n // 4}", n % 4) for n in range(16)]
    return f"""
INSERT INTO work_items ({", ".join(COLUMNS)})
SELECT :t, f.employee_id, c.tt, c.nv, c.title, f.day,
       CASE WHEN c.minutes <= 45 AND f.b2 < {DOUBLE} THEN 2 ELSE 1 END, f.level, c.minutes, c.weight,
       CASE f.level WHEN 1 THEN 0.8 WHEN 3 THEN 1.3 ELSE 1.0 END, f.status,
       CASE f.status WHEN 'done' THEN 100 WHEN 'cancelled' THEN 0 ELSE (ARRAY{list(PROGRESS)})[1 + f.b15 % 3] END,
       f.declared < f.cutoff, CASE WHEN f.b13 < {LEAD} THEN 'lead' ELSE 'support' END,
       (ARRAY{list(PRIORITIES)})[1 + f.b14 % 5], false, f.deadline, f.deadline, 0,
       CASE WHEN f.late THEN 1 ELSE 0 END, f.declared,
       CASE WHEN f.done THEN f.finished END,
       CASE WHEN f.done THEN f.finished + CASE WHEN f.unreported THEN interval '2 days' ELSE interval '0' END END,
       f.unreported, CASE WHEN f.done AND f.b9 < {FAILED} THEN 1 ELSE 0 END, f.stars, f.stars, false,
       'verified', f.declared
FROM (
  SELECT g.*,
         g.declared + make_interval(days => CASE WHEN g.late THEN g.deadline - g.day + 1 ELSE 0 END,
                                    mins => CAST(60 + g.b7 * 15 / 8 AS int)) AS finished,
         g.done AND g.b8 < {UNREPORTED} AS unreported,
         CASE WHEN g.done AND g.b10 < {RATED} THEN (ARRAY{list(STARS)})[1 + g.b11 % 7] END AS stars
  FROM (
    SELECT v.*, v.status = 'done' AS done, v.day + (ARRAY{list(DEADLINE_DAYS)})[1 + v.b5 % 5] AS deadline,
           v.status = 'done' AND v.b6 < {LATE} AS late
    FROM (
      SELECT w.employee_id, w.pos, w.day, w.cutoff, w.pick,
             w.morning + make_interval(mins => CAST(w.b12 * 141 / 256 - 20 AS int)) AS declared,
             (ARRAY{list(LEVELS)})[1 + w.b3 % 5] AS level, w.b2,
             CASE WHEN w.b4 < {DONE} THEN 'done' WHEN w.b4 < {IN_PROGRESS} THEN 'in_progress'
                  ELSE 'cancelled' END AS status,
             {", ".join(f"w.b{n}" for n in range(5, 16))}
      FROM (
        SELECT employee_id, pos, day, morning, cutoff, ({b[0]} << 8 | {b[1]}) % choices AS pick,
               {", ".join(f"{b[n]} AS b{n}" for n in range(2, 16))}
        FROM (SELECT employee_id, pos, day, morning, cutoff, choices, {final} FROM (
          SELECT employee_id, pos, day, morning, cutoff, choices, {round2} FROM (
            SELECT employee_id, pos, day, morning, cutoff, choices, {round1} FROM (
              SELECT p.id AS employee_id, p.pos, p.choices, d.day,
                     (d.day + time '07:40') AT TIME ZONE :zone AS morning,
                     (d.day + CAST(:cutoff AS time)) AT TIME ZONE :zone AS cutoff, {keys}
              FROM unnest(CAST(:idx AS bigint[]), CAST(:ids AS bigint[]), CAST(:pos AS bigint[]),
                          CAST(:choices AS int[])) AS p(idx, id, pos, choices)
              CROSS JOIN unnest(CAST(:days AS date[]), CAST(:dns AS bigint[])) AS d(day, dn)
              CROSS JOIN generate_series(0, {ITEMS_PER_DAY - 1}) AS k(k)
              OFFSET 0) AS x OFFSET 0) AS y OFFSET 0) AS z OFFSET 0) AS h
      ) AS w OFFSET 0
    ) AS v OFFSET 0
  ) AS g OFFSET 0
) AS f
JOIN (SELECT * FROM unnest(CAST(:c_pos AS bigint[]), CAST(:c_n AS int[]), CAST(:c_tt AS bigint[]),
                           CAST(:c_nv AS bigint[]), CAST(:c_minutes AS numeric[]), CAST(:c_weight AS numeric[]),
                           CAST(:c_title AS text[])) AS c(pos, n, tt, nv, minutes, weight, title)) AS c
  ON c.pos = f.pos AND c.n = f.pick
"""


INSERT_SQL = _sql()


def _block_params(month: Month, block: Sequence[tuple[int, int, int]], choices: dict[int, list[Choice]],
                  catalogue: dict[str, list]) -> dict:
    return {"t": month.tenant_id, "s": month.seed * SEED & MASK, "zone": month.zone,
            "cutoff": month.cutoff.strftime("%H:%M"), "days": list(month.days),
            "dns": [d.toordinal() - EPOCH for d in month.days],
            "idx": [p[0] for p in block], "ids": [p[1] for p in block], "pos": [p[2] for p in block],
            "choices": [len(choices[p[2]]) for p in block], **catalogue}


def _catalogue_arrays(choices: dict[int, list[Choice]]) -> dict[str, list]:
    rows = [(pos, n, c) for pos, cs in choices.items() for n, c in enumerate(cs)]
    return {"c_pos": [r[0] for r in rows], "c_n": [r[1] for r in rows], "c_tt": [r[2].task_type_id for r in rows],
            "c_nv": [r[2].norm_version_id for r in rows], "c_minutes": [r[2].minutes for r in rows],
            "c_weight": [r[2].weight for r in rows], "c_title": [r[2].title for r in rows]}


def write(month: Month, people: Sequence[tuple[int, int, int]], choices: dict[int, list[Choice]],
          engine: Engine | None = None, workers: int = 1,
          progress: Callable[[int, int], None] | None = None) -> int:
    """Write the month's items of `people` ((index, employee id, position id) each); returns
    the count. With an `engine` and several `workers` (PostgreSQL only), blocks of people
    go on as many connections at once, each block committed on its own — the people must
    be committed first, and a failure leaves the blocks already written; otherwise all
    rows go in the session's transaction."""
    total = len(people) * len(month.days) * ITEMS_PER_DAY
    if db.session.get_bind().dialect.name != "postgresql":
        def counted() -> Iterator[tuple]:
            for n, row in enumerate(python_rows(month, people, choices), 1):
                yield row
                if progress and n % 50_000 == 0:
                    progress(n, total)

        copy_rows(WorkItem.__table__, COLUMNS, counted())
        if progress:
            progress(total, total)
        return total
    blocks = [people[i:i + PEOPLE_PER_BLOCK] for i in range(0, len(people), PEOPLE_PER_BLOCK)]
    catalogue = _catalogue_arrays(choices)
    per_person = len(month.days) * ITEMS_PER_DAY
    if engine is None or workers <= 1:
        written = 0
        for block in blocks:
            db.session.execute(text(INSERT_SQL), _block_params(month, block, choices, catalogue))
            written += len(block) * per_person
            if progress:
                progress(written, total)
        return total

    key = rls.key_for_threads()  # the pool's threads have no app context to read it in

    def one(block: Sequence[tuple[int, int, int]]) -> int:
        with engine.begin() as conn:
            rls.apply(conn, month.tenant_id, key=key)
            conn.execute(text(INSERT_SQL), _block_params(month, block, choices, catalogue))
        return len(block) * per_person

    written = 0
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="generate")
    try:
        for n in pool.map(one, blocks):
            written += n
            if progress:
                progress(written, total)
    finally:
        # On a failure, blocks not yet started are dropped; running ones finish or fail.
        pool.shutdown(wait=True, cancel_futures=True)
    return total
