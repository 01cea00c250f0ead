"""Listing helpers the console tables share: parsed query parameters, sorting and pages."""
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from math import ceil

from sqlalchemy import func, select

from ..extensions import db

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 200
# Up to this many matching rows a listing counts them exactly; beyond, PostgreSQL's estimate
# (counting a million ledger rows costs more than the whole page may).
EXACT_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class ListParams:
    """What a table shows: search text, sort key and direction, page, and extra filters."""

    q: str = ""
    sort: str = ""
    direction: str = "asc"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    filters: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Mapping, sorts: Mapping, default_sort: str, default_direction: str = "asc",
                  filter_names: tuple[str, ...] = ()) -> "ListParams":
        """Read ?q=&sort=&dir=&page=&per_page= leniently: anything unknown falls back to a default."""
        sort = args.get("sort", default_sort)
        if sort not in sorts:
            sort = default_sort
        direction = args.get("dir", default_direction)
        if direction not in ("asc", "desc"):
            direction = default_direction
        filters = {name: args.get(name, "").strip() for name in filter_names if args.get(name, "").strip()}
        return cls(q=args.get("q", "").strip()[:200], sort=sort, direction=direction,
                   page=_positive_int(args.get("page"), 1),
                   per_page=min(_positive_int(args.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE),
                   filters=filters)

    def query_args(self, **changes) -> dict:
        """The query string of this listing with some values changed (for links)."""
        params = replace(self, **{k: v for k, v in changes.items() if k in ("q", "sort", "direction", "page")})
        args = {"q": params.q, "sort": params.sort, "dir": params.direction, "page": params.page}
        if params.per_page != DEFAULT_PER_PAGE:
            args["per_page"] = params.per_page
        args.update(self.filters)
        args.update({k: v for k, v in changes.items() if k not in ("q", "sort", "direction", "page")})
        return {k: v for k, v in args.items() if v not in ("", None) and not (k == "page" and v == 1)}

    def sort_args(self, key: str) -> dict:
        """Query args for a click on a column header: same column flips direction, else ascending."""
        direction = "desc" if key == self.sort and self.direction == "asc" else "asc"
        return self.query_args(sort=key, direction=direction, page=1)


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int
    exact: bool = True  # False: `total` is the planner's estimate of a count over EXACT_COUNT_LIMIT

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def paginate(statement, params: ListParams, sorts: Mapping, scalars: bool = True, estimate=None) -> Page:
    """Count, sort (with the primary key order as a tiebreak given in `sorts`) and cut one page.

    A page past the middle is read from the other end (reversed order, then flipped back), so
    the last page of a million rows costs what the first does, not an OFFSET of a million.
    `estimate`: an equivalent statement whose plan estimates the row count better (see count_rows).
    """
    total, exact = count_rows(statement, estimate=estimate)
    columns = sorts[params.sort]
    columns = columns if isinstance(columns, (list, tuple)) else (columns,)
    page = min(params.page, max(1, ceil(total / params.per_page)))
    start = (page - 1) * params.per_page
    # An estimated total places the page only roughly: read whole pages.
    size = max(0, min(params.per_page, total - start)) if exact else params.per_page
    descending = params.direction == "desc"
    from_end = start > total - start - size
    if from_end:
        ordering = [_order(c, not descending, nulls_first=True) for c in columns]
        offset = max(0, total - start - size)
    else:
        ordering = [_order(c, descending, nulls_first=False) for c in columns]
        offset = start
    result = db.session.execute(statement.order_by(*ordering).limit(size or params.per_page).offset(offset))
    items = list(result.scalars() if scalars else result)
    if from_end:
        items.reverse()
    return Page(items=items, total=total, page=page, per_page=params.per_page, exact=exact)


def count_rows(statement, limit: int | None = None, estimate=None) -> tuple[int, bool]:
    """(rows the statement returns, exact?): exact up to `limit` (EXACT_COUNT_LIMIT), else the planner's estimate.

    The estimate is planned for `estimate` if given: the same rows, said so the planner can size them.
    """
    limit = EXACT_COUNT_LIMIT if limit is None else limit
    statement = statement.order_by(None)
    capped = db.session.scalar(select(func.count()).select_from(statement.limit(limit + 1).subquery()))
    if capped <= limit:
        return capped, True
    statement = statement if estimate is None else estimate.order_by(None)
    compiled = statement.compile(dialect=db.session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return max(limit + 1, int(plan[0]["Plan"]["Plan Rows"])), False


def _order(column, descending: bool, nulls_first: bool):
    """ORDER BY term; NULLS placement only for nullable columns, so an index on a NOT NULL column serves it."""
    term = column.desc() if descending else column.asc()
    if getattr(getattr(column, "expression", column), "nullable", True) is False:
        return term
    return term.nulls_first() if nulls_first else term.nulls_last()


def _positive_int(value, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def like_escape(text: str) -> str:
    """Text for an ILIKE pattern with its own % and _ taken literally (use escape="\\\\")."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
