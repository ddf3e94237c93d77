"""Admin search that finds a phone number however the account manager types it."""

from django.db.models import Q

from ..phones import InvalidPhoneNumber, normalize_phone


class PhoneSearchMixin:
    """Also match ``phone_search_fields`` against the search term read as a phone number.

    Numbers are stored in E.164 (``+13125550100``), so an exact search for
    ``(312) 555-0100`` or ``3125550100`` used to find nothing.
    """

    phone_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            e164 = normalize_phone(search_term)
        except InvalidPhoneNumber:
            return results, may_have_duplicates
        if e164 == search_term.strip():
            return results, may_have_duplicates  # already found by the exact search
        as_phone = Q()
        for field in self.phone_search_fields:
            as_phone |= Q(**{field: e164})
        return results | queryset.filter(as_phone), may_have_duplicates
