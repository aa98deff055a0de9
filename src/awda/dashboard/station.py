"""The warehouse's receiving station, keyboard first.

Scan (a GET form: a keyboard-wedge scanner types the code and presses Enter) → the return's
page, every field filled in for the common case, the primary button focused → one POST
receives, inspects and disposes of the items (``warehouse.services.receive_and_inspect``, one
transaction) → redirect (POST-redirect-GET) to the scan page, which says what happened to the
stock and the money, its input focused for the next parcel. A second submit of the same
form changes nothing: the services repeat what was recorded, and a restock is keyed by item.

Photos of an item go with the same POST (multipart, a file input per item that opens a
phone's camera): checked by their content before anything is recorded, so a bad file leaves
both the photos and the inspection unsaved, and stored with the inspection as the
warehouse's. Without a photo the one action is unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from awda.catalog.models import Location, StockMove, StockMoveReason
from awda.core.errors import DomainError, NotFound
from awda.core.ids import normalise_return_number
from awda.core.images import CleanImage
from awda.dashboard.access import STATION_ROLES, Staff, staff_page
from awda.dashboard.pages import context, language
from awda.merchants.models import Merchant, StaffRole
from awda.returns.models import (
    Condition,
    Decision,
    Disposition,
    PhotoSource,
    Reception,
    Return,
    ReturnItem,
    ReturnPhoto,
    ReturnStatus,
)
from awda.returns.photos import STATION_PHOTOS_PER_ITEM, clean_photo
from awda.returns.selectors import reason_labels
from awda.warehouse import bin_label, selectors, services
from awda.warehouse.models import UnknownParcel

_DECIDED = (Decision.ACCEPTED, Decision.REJECTED)
MAX_CODE = 500
MAX_NOTE = 2000
# Who sees the items' photos: the station, the support agents who answer the shopper, and
# the analysts whose reason drill-down shows what came back.
PHOTO_ROLES = (StaffRole.WAREHOUSE, StaffRole.OWNER, StaffRole.AGENT, StaffRole.ANALYST)


def _labels() -> dict[str, dict[str, str]]:
    """Each enum value's translated label, for the templates."""
    enums = {"condition": Condition, "decision": Decision, "disposition": Disposition}
    labels = {name: {v: str(lbl) for v, lbl in e.choices} for name, e in enums.items()}
    labels["reception"] = {v: str(lbl) for v, lbl in Reception.choices}
    labels["photo_source"] = {v: str(lbl) for v, lbl in PhotoSource.choices}
    return labels


def _scan_url(staff: Staff, **query: str) -> str:
    base = reverse("dashboard:scan", kwargs={"store": staff.merchant.slug})
    return f"{base}?{urlencode(query)}" if query else base


def _return_url(staff: Staff, number: str) -> str:
    return reverse(
        "dashboard:station-return", kwargs={"store": staff.merchant.slug, "number": number}
    )


# -- the scan page ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET"])
@staff_page(*STATION_ROLES)
def scan(request: HttpRequest, staff: Staff) -> HttpResponse:
    code = request.GET.get("code", "").strip()[:MAX_CODE]
    if code:
        found = selectors.find_by_scan(merchant=staff.merchant, code=code)
        if found is not None:
            return HttpResponseRedirect(_return_url(staff, found.number))
    logged = _logged_parcel(staff.merchant, request.GET.get("logged", ""))
    return render(
        request,
        "dashboard/scan.html",
        context(
            request,
            staff,
            code=code,
            not_found=bool(code),
            done=outcome(staff.merchant, request.GET.get("done", "")),
            logged=logged,
            errors={},
            labels=_labels(),
        ),
        status=404 if code else 200,
    )


def _logged_parcel(merchant: Merchant, raw: str) -> UnknownParcel | None:
    if not raw.isdecimal():
        return None
    return UnknownParcel.objects.for_merchant(merchant).filter(pk=int(raw)).first()


@require_POST
@staff_page(*STATION_ROLES)
def unknown_parcel(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Log a parcel no return matches, to be matched later (``log_unknown_parcel``)."""
    code = request.POST.get("code", "").strip()[:MAX_CODE]
    note = request.POST.get("note", "").strip()[:MAX_NOTE]
    try:
        parcel = services.log_unknown_parcel(
            merchant=staff.merchant, actor=staff.actor, code=code, note=note
        )
    except DomainError as error:
        return render(
            request,
            "dashboard/scan.html",
            context(
                request,
                staff,
                code=code,
                not_found=True,
                done=None,
                logged=None,
                errors={"note": str(error.message)},
                labels=_labels(),
            ),
            status=error.status,
        )
    return HttpResponseRedirect(_scan_url(staff, logged=str(parcel.pk)))


# -- what happened: the panel on the scan page after a return was processed -------------------


@dataclass(frozen=True)
class MovedStock:
    sku: str
    quantity: int
    location: str
    on_hand_after: int


@dataclass(frozen=True)
class Outcome:
    number: str
    url: str
    items: list[Row]
    moves: list[MovedStock]
    money: list[str]


def outcome(merchant: Merchant, number: str) -> Outcome | None:
    """What the station did to a return, read back from the database (so a reload of the
    page after the redirect shows the same), or None for a number not of this merchant."""
    if not number:
        return None
    ret = _find_return(merchant, number)
    if ret is None:
        return None
    items = station_rows(ret)
    moves = [
        MovedStock(m.variant.sku, m.quantity, m.location.name, m.on_hand_after)
        for m in StockMove.objects.for_merchant(merchant)
        .filter(reference__startswith=f"{ret.number}/", reason=StockMoveReason.RESTOCK)
        .select_related("variant", "location")
        .order_by("pk")
    ]
    return Outcome(
        number=ret.number,
        url=reverse(
            "dashboard:station-return", kwargs={"store": merchant.slug, "number": ret.number}
        ),
        items=items,
        moves=moves,
        money=money_next(ret, items),
    )


def money_next(ret: Return, items: list[Row]) -> list[str]:
    """What happens to the shopper's money now, in a sentence or two."""
    decided = all(r.item.decision in _DECIDED for r in items)
    accepted = [r for r in items if r.item.decision == Decision.ACCEPTED]
    rejected = [r for r in items if r.item.decision == Decision.REJECTED]
    said: list[str] = []
    if ret.status == ReturnStatus.IN_REVIEW:
        said.append(
            _(
                "Money already went out for items found missing, short or rejected: the "
                "return waits for a person to review it."
            )
        )
    if not decided:
        said.append(_("The money waits until every item is accepted or rejected."))
    elif ret.refund_timing == "inspected":
        if accepted:
            said.append(
                _(
                    "The inspection releases the money: the refund for the accepted items is "
                    "on its way."
                )
            )
    else:
        timing = {
            "immediate": _("when the return was approved"),
            "first_scan": _("at the carrier's first scan"),
            "delivered": _("when the parcel was delivered"),
        }.get(ret.refund_timing)
        if timing:
            said.append(
                _("This return's money was due %(when)s: the station changes nothing about it.")
                % {"when": timing}
            )
    if rejected:
        said.append(_("Rejected items are not refunded."))
    return said


# -- the return's page -----------------------------------------------------------------------


@dataclass
class Row:
    """One item as the station shows it, with the fields its form holds."""

    position: int  # 1-based, in the return's order: form field names and the bin label URL
    item: ReturnItem
    title: str
    reason: str  # the shopper's reason, in the page's language
    suggested: str | None  # the policy's suggestion in the item's current state
    # For the pre-filled state (received in full, accepted): the suggestion per condition,
    # so the page can follow a change of grade.
    by_condition: dict[str, str] = field(default_factory=dict)
    open: bool = False  # something is left to record (a decision or a disposition)
    needs_decision: bool = False
    values: dict[str, str] = field(default_factory=dict)
    photos: list[ReturnPhoto] = field(default_factory=list)  # the shopper's, then the station's
    photos_sent: bool = False  # photos came with a POST that was refused: choose them again

    @property
    def line_ref(self) -> str:
        return self.item.order_line.line_ref

    @property
    def sku(self) -> str:
        return self.item.order_line.sku

    @property
    def options(self) -> str:
        """The variant's options as the catalog holds them ("M · black")."""
        variant = self.item.order_line.variant
        options = variant.options if variant is not None else {}
        return " · ".join(str(v) for v in options.values()) if isinstance(options, dict) else ""

    @property
    def item_code(self) -> str:
        return bin_label.item_code(self.item.return_request.number, self.line_ref, self.position)


def _find_return(merchant: Merchant, number: str) -> Return | None:
    ret = (
        Return.objects.for_merchant(merchant).filter(number=normalise_return_number(number)).first()
    )
    if ret is not None:
        ret.merchant = merchant  # the staff's, already loaded: no query when a row reads it
    return ret


def _as_if(item: ReturnItem, **state: str) -> ReturnItem:
    twin = copy.copy(item)
    for name, value in state.items():
        setattr(twin, name, value)
    return twin


def station_rows(ret: Return) -> list[Row]:
    lang = language()
    rows = []
    items = selectors.station_items(ret)
    # The merchant's reasons are cached per process (an inactive one shows its code).
    reasons = {
        r.code: (r.label_ar if lang == "ar" and r.label_ar else r.label_en)
        for r in reason_labels(merchant=ret.merchant)
    }
    photos: dict[int, list[ReturnPhoto]] = {}
    for photo in (
        ReturnPhoto.objects.for_merchant(ret.merchant_id)
        .filter(return_item__in=items)
        .order_by("source", "created_at", "pk")
    ):
        photos.setdefault(photo.return_item_id or 0, []).append(photo)
    for position, item in enumerate(items, start=1):
        item.return_request = ret  # already loaded: no query per item
        line = item.order_line
        title = line.title_ar if lang == "ar" and line.title_ar else line.title_en
        decided = item.decision in _DECIDED
        suggested = selectors.suggestion_for(ret, item)
        # A rejected item goes back to the shopper unless someone chooses otherwise: only an
        # item with a suggestion (accepted and arrived) waits for its disposition.
        needs_disposition = not item.disposition and suggested is not None
        row = Row(
            position=position,
            item=item,
            title=title,
            reason=reasons.get(item.reason_code, item.reason_code),
            suggested=suggested,
            open=ret.status in _STATION_STATUSES and (not decided or needs_disposition),
            needs_decision=not decided,
            photos=photos.get(item.pk, []),
        )
        if row.needs_decision:
            row.by_condition = {
                c: selectors.suggestion_for(
                    ret,
                    _as_if(item, condition=c, decision=Decision.ACCEPTED, reception="received"),
                )
                or ""
                for c in Condition.values
            }
        rows.append(row)
    return rows


# Where the station may still record something (the services refuse the rest).
_STATION_STATUSES = frozenset(
    {
        ReturnStatus.APPROVED,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.DELIVERED,
        ReturnStatus.RECEIVED,
        ReturnStatus.IN_REVIEW,
    }
)


def _prefill(row: Row) -> dict[str, str]:
    """The common case: everything arrived, new, accepted, the suggested disposition."""
    item = row.item
    if not row.needs_decision:
        return {"disposition": row.suggested or ""}
    received = item.reception == Reception.AWAITING or item.reception == Reception.RECEIVED
    condition = item.condition or Condition.NEW
    return {
        "qty": str(
            item.quantity if item.reception == Reception.AWAITING else item.received_quantity
        ),
        "reception": Reception.RECEIVED if received else item.reception,
        "condition": condition,
        "decision": Decision.ACCEPTED,
        "note": "",
        "disposition": row.by_condition.get(condition, ""),
    }


def _locations(merchant: Merchant) -> QuerySet[Location]:
    return Location.objects.for_merchant(merchant).order_by("-is_default", "code")


@dataclass
class StationForm:
    """The POSTed fields, checked, as the service's ``ItemCheck``s; ``errors`` by field name
    (``qty-1``…, ``location``), in the page's language."""

    rows: list[Row]
    checks: list[services.ItemCheck] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # check index → row position
    location: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        data: QueryDict,
        rows: list[Row],
        locations: list[Location],
        files: MultiValueDict[str, UploadedFile] | None = None,
    ) -> StationForm:
        form = cls(rows=rows)
        form.location = data.get("location", "").strip()
        if form.location and form.location not in {loc.code for loc in locations}:
            form.errors["location"] = _("Unknown location.")
        for row in rows:
            if row.open:
                form._row(data, row, form._photos(files, row))
        return form

    def _photos(
        self, files: MultiValueDict[str, UploadedFile] | None, row: Row
    ) -> tuple[CleanImage, ...]:
        """The item's photos, checked by their content (``core.images``) and re-encoded."""
        name = f"photos-{row.position}"
        uploads = [f for f in (files.getlist(name) if files is not None else []) if f.size]
        if not uploads:
            return ()
        row.photos_sent = True
        if len(uploads) > STATION_PHOTOS_PER_ITEM:
            self.errors[name] = _("Add at most %(limit)s photos of an item.") % {
                "limit": STATION_PHOTOS_PER_ITEM
            }
            return ()
        images = []
        for upload in uploads:
            try:
                # One byte over the limit is enough to refuse it: a huge upload is never
                # read into memory in full.
                data = upload.read(settings.AWDA_PHOTO_MAX_BYTES + 1)
                images.append(clean_photo(data, field=name))
            except DomainError as error:
                self.errors[name] = str(error.message)
                return ()
        return tuple(images)

    def _row(self, data: QueryDict, row: Row, photos: tuple[CleanImage, ...] = ()) -> None:
        n = row.position
        before = len(self.checks)
        self._fields(data, row)
        if photos and len(self.checks) == before and f"photos-{n}" not in self.errors:
            self.errors[f"photos-{n}"] = _(
                "Photos are saved with what is recorded for the item: fill in its fields."
            )
        elif photos and len(self.checks) > before:
            self.checks[-1] = dataclasses.replace(self.checks[-1], photos=photos)

    def _fields(self, data: QueryDict, row: Row) -> None:
        n = row.position
        item = row.item
        values = {
            name: data.get(f"{name}-{n}", "").strip()
            for name in ("qty", "reception", "condition", "decision", "note", "disposition")
        }
        row.values = values
        disposition = values["disposition"]
        if disposition and disposition not in Disposition.values:
            self.errors[f"disposition-{n}"] = _("Choose a disposition from the list.")
        if not row.needs_decision:
            # Decided before: only what becomes of it is asked now.
            if disposition:
                self._add(
                    row,
                    services.ItemCheck(
                        line_ref=row.line_ref,
                        received_quantity=item.received_quantity,
                        reception=item.reception,
                        condition=item.condition,
                        decision=item.decision,
                        note=item.decision_note,
                        disposition=disposition,
                    ),
                )
            return
        reception, decision, condition = (
            values["reception"],
            values["decision"],
            values["condition"],
        )
        if reception not in Reception.values:
            self.errors[f"reception-{n}"] = _("Choose what arrived from the list.")
        quantity: int | None = None
        if reception == Reception.RECEIVED:
            try:
                quantity = int(values["qty"])
            except ValueError:
                quantity = None
            if quantity is None or not 0 <= quantity <= item.quantity:
                self.errors[f"qty-{n}"] = _("Enter a number from 0 to %(max)s.") % {
                    "max": item.quantity
                }
        if condition and condition not in Condition.values:
            self.errors[f"condition-{n}"] = _("Choose a condition from the list.")
        if decision and decision not in _DECIDED:
            self.errors[f"decision-{n}"] = _("Choose accept or reject.")
        elif decision and reception == Reception.AWAITING:
            self.errors[f"decision-{n}"] = _("An item not in this parcel can't be decided yet.")
        elif decision == Decision.ACCEPTED and (
            reception != Reception.RECEIVED or quantity != item.quantity
        ):
            self.errors[f"decision-{n}"] = _("Only an item received in full can be accepted.")
        if decision and not condition and reception != Reception.MISSING:
            self.errors[f"condition-{n}"] = _("Grade the item's condition.")
        if decision == Decision.REJECTED and not values["note"]:
            self.errors[f"note-{n}"] = _("Say why the item is rejected.")
        if values["note"] and not decision:
            # The note is the decision's: without one it would be dropped without a word.
            self.errors[f"note-{n}"] = _(
                "A note is saved with a decision: accept or reject the item, or clear the note."
            )
        if len(values["note"]) > MAX_NOTE:
            self.errors[f"note-{n}"] = _("Keep the note under %(max)s characters.") % {
                "max": MAX_NOTE
            }
        if disposition and not decision:
            self.errors[f"disposition-{n}"] = _("Accept or reject the item first.")
        elif disposition == Disposition.RESTOCK and decision != Decision.ACCEPTED:
            self.errors[f"disposition-{n}"] = _("Only an accepted item can be restocked.")
        if reception == Reception.AWAITING and not decision:
            return  # still on its way: nothing to record for it in this parcel
        self._add(
            row,
            services.ItemCheck(
                line_ref=row.line_ref,
                received_quantity=quantity if reception == Reception.RECEIVED else None,
                reception=reception,
                condition=condition,
                decision=decision,
                note=values["note"],
                # "": leave it for later (the service would otherwise pick the suggestion).
                disposition=disposition,
            ),
        )

    def _add(self, row: Row, check: services.ItemCheck) -> None:
        self.checks.append(check)
        self.positions.append(row.position)

    def add_service_error(self, error: DomainError) -> None:
        """A refusal from the services, next to the field it names (``items.<i>.<name>``)."""
        name = ""
        parts = (error.field or "").split(".")
        if len(parts) == 3 and parts[0] == "items" and parts[1].isdecimal():
            index = int(parts[1])
            if index < len(self.positions):
                short = {"received_quantity": "qty", "quantity": "qty"}.get(parts[2], parts[2])
                name = f"{short}-{self.positions[index]}"
        elif error.field == "location":
            name = "location"
        elif error.field == "disposition" and len(self.positions) == 1:
            name = f"disposition-{self.positions[0]}"
        self.errors[name or "form"] = str(error.message)


@never_cache
@require_http_methods(["GET", "POST"])
@staff_page(*STATION_ROLES)
def return_page(request: HttpRequest, staff: Staff, number: str) -> HttpResponse:
    ret = _find_return(staff.merchant, number)
    if ret is None:
        raise Http404("no such return")
    rows = station_rows(ret)
    locations = list(_locations(staff.merchant))
    if request.method == "POST":
        if not any(r.open for r in rows):
            # A second submit after the first one finished: nothing is left to record.
            return HttpResponseRedirect(_scan_url(staff, done=ret.number))
        form = StationForm.parse(request.POST, rows, locations, request.FILES)
        if not form.errors and not form.checks:
            form.errors["form"] = _("Nothing to record: fill in at least one item.")
        if not form.errors:
            try:
                services.receive_and_inspect(
                    merchant=staff.merchant,
                    code_or_number=ret.number,
                    actor=staff.actor,
                    items=form.checks,
                    location=form.location or None,
                )
            except NotFound as error:
                if error.field != "location":
                    raise Http404("no such return") from None
                form.add_service_error(error)
            except DomainError as error:
                form.add_service_error(error)
        if not form.errors:
            return HttpResponseRedirect(_scan_url(staff, done=ret.number))
        return _render_return(request, staff, ret, rows, locations, form.location, form.errors)
    for row in rows:
        if row.open:
            row.values = _prefill(row)
    return _render_return(request, staff, ret, rows, locations, "", {})


def _render_return(
    request: HttpRequest,
    staff: Staff,
    ret: Return,
    rows: list[Row],
    locations: list[Location],
    location: str,
    errors: dict[str, str],
) -> HttpResponse:
    open_rows = [r for r in rows if r.open]
    quick = bool(open_rows) and all(
        r.values.get("decision", r.item.decision) == Decision.ACCEPTED
        and r.values.get("disposition") == Disposition.RESTOCK
        for r in open_rows
    )
    values: dict[str, Any] = {
        "ret": ret,
        "rows": rows,
        "open_rows": open_rows,
        "locations": locations,
        "location": location,
        "errors": errors,
        "quick": quick,
        "status_text": ReturnStatus(ret.status).label,
        "conditions": Condition.choices,
        "decisions": [(Decision.ACCEPTED, _("Accept")), (Decision.REJECTED, _("Reject"))],
        "receptions": [
            (Reception.RECEIVED, _("Received")),
            (Reception.MISSING, _("Missing")),
            (Reception.WRONG_ITEM, _("Wrong item")),
            (Reception.AWAITING, _("Not in this parcel")),
        ],
        "dispositions": Disposition.choices,
        "labels": _labels(),
    }
    return render(
        request,
        "dashboard/return.html",
        context(request, staff, **values),
        status=422 if errors else 200,
    )


# -- the bin label ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET"])
@staff_page(*STATION_ROLES)
def item_label(request: HttpRequest, staff: Staff, number: str, position: int) -> HttpResponse:
    """A small PDF for the bin the received item goes to (62 × 29 mm)."""
    ret = _find_return(staff.merchant, number)
    items = selectors.station_items(ret) if ret is not None else []
    if ret is None or not 1 <= position <= len(items):
        raise Http404("no such item")
    item = items[position - 1]
    line = item.order_line
    pdf = bin_label.render_pdf(
        bin_label.BinLabel(
            return_number=ret.number,
            line_ref=line.line_ref,
            sku=line.sku,
            title=line.title_ar if language() == "ar" and line.title_ar else line.title_en,
            code=bin_label.item_code(ret.number, line.line_ref, position),
        )
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="bin-{ret.number}-{position}.pdf"'
    return response


# -- the items' photos --------------------------------------------------------------------------


@require_http_methods(["GET"])
@staff_page(*PHOTO_ROLES)
def item_photo(request: HttpRequest, staff: Staff, number: str, photo_id: int) -> HttpResponse:
    """A photo of one of the return's items, the shopper's or the station's, for that store's
    staff only: the media folder itself is never served (the photos are private), and any
    other store's photo id is answered like one that doesn't exist."""
    photo = (
        ReturnPhoto.objects.for_merchant(staff.merchant)
        .filter(pk=photo_id, return_item__return_request__number=normalise_return_number(number))
        .first()
    )
    if photo is None:
        raise Http404("no such photo")
    try:
        # Small (AWDA_PHOTO_MAX_BYTES, re-encoded when stored): read at once.
        with photo.file.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise Http404("the photo's file is gone") from None
    response = HttpResponse(content, content_type=photo.content_type)
    # Its bytes never change: the browser may keep it, shared caches may not.
    response["Cache-Control"] = "private, max-age=3600"
    # Stored re-encoded, but never let a browser guess another type or run anything.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
