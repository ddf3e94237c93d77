"""List pages that stay fast over millions of leads, calls and deliveries (SPEC §9).

Django's admin defaults are built for small tables: it counts every filtered row
for the paginator, computes per-row aggregates over the whole joined table before
it cuts a page, and searches with one OR over columns of several tables, which no
index can serve. ``BigTableAdmin`` changes those three things:

- **counts**: exact up to ``EXACT_COUNT_UP_TO`` rows (a capped count walks at most
  that many index entries); past it, PostgreSQL's planner estimate, shown as
  "about N" (``templates/admin/integrations/pagination.html``);
- **per-row figures**: ``list_annotations()`` is applied by the change list only,
  as correlated subqueries evaluated for the rows of the visible page (never for
  the change form, never over the table);
- **search**: ``search_conditions(term)`` returns conditions on the model's own
  columns, so PostgreSQL combines their indexes with a BitmapOr. Related rows are
  looked up first (``ids_of``) and matched as ``fk IN (1, 2)``: an ``IN (subquery)``
  inside an OR is a filter no index serves. A phone number matches in any format.
  ``search_fields`` only shows the search box and names what it searches.

Facet counts (``?_facets``) are off: each is a count over the filtered table.
"""

import json
from functools import cached_property

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from ..rules.phones import InvalidPhoneNumber, normalize_phone

EXACT_COUNT_UP_TO = 10_000


class EstimatedCountPaginator(Paginator):
    """Exact below ``EXACT_COUNT_UP_TO`` rows; the planner's estimate above (PostgreSQL)."""

    estimated = False

    @cached_property
    def count(self):
        queryset = self.object_list
        capped = queryset.order_by().values("pk")[: EXACT_COUNT_UP_TO + 1].count()
        if capped <= EXACT_COUNT_UP_TO:
            return capped
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.count()  # SQLite: the zero-setup default, never millions of rows
        self.estimated = True
        return max(planner_estimate(queryset.order_by(), connection), capped)


def planner_estimate(queryset, connection) -> int:
    """The number of rows PostgreSQL's planner expects ``queryset`` to return."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def count_of(model, foreign_key: str, **filters):
    """A per-row count of ``model`` rows pointing at the outer row, 0 when none."""
    counted = (
        model.objects.filter(**{foreign_key: OuterRef("pk")}, **filters)
        .order_by()
        .values(foreign_key)
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def newest_of(model, foreign_key: str, field: str):
    """The outer row's newest ``field`` among ``model`` rows pointing at it (one index probe)."""
    newest = model.objects.filter(**{foreign_key: OuterRef("pk")}).order_by(f"-{field}")
    return Subquery(newest.values(field)[:1])


def ids_of(queryset, limit: int = 1000) -> list:
    """The primary keys of a (small) related match, to search for as literal values."""
    return list(queryset.order_by().values_list("pk", flat=True)[:limit])


def phone_variants(term: str) -> list[str]:
    """The term itself and, if it reads as a phone number, its E.164 form."""
    try:
        e164 = normalize_phone(term)
    except InvalidPhoneNumber:
        return [term]
    return [term] if e164 == term else [term, e164]


class _AnnotatedChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        if any("\x00" in value for _, values in request.GET.lists() for value in values):
            # No column holds a NUL, and PostgreSQL refuses to compare one: answered
            # like any filter the list cannot apply (Django's "?e=1"), not with a 500.
            raise IncorrectLookupParameters("a filter value contains a NUL character")
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.annotate(**self.model_admin.list_annotations())


class PageFiguresAdmin(admin.ModelAdmin):
    """Per-row figures (counts, newest times) computed for the visible page only."""

    def list_annotations(self) -> dict:
        """Name → expression, added to the change list's rows (not the change form's)."""
        return {}

    def get_changelist(self, request, **kwargs):
        return _AnnotatedChangeList


class BigTableAdmin(PageFiguresAdmin):
    """A ModelAdmin for a table that grows without bound; see the module docstring."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def search_conditions(self, term: str) -> Q:
        """Conditions on this model's own columns matching ``term``; override."""
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_conditions(term)), False
