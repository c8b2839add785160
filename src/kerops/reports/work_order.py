"""A ticket as a printable work order (fpdf2): the ticket's header, its description, its tasks
with their results, its photos, the parts it used, the time logged on it, its totals, the
signature and its status history, in the reader's language with dates in the locale's time
zone (docs/tickets.md#work-order-pdf)."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from functools import partial

from kerops.core import formats
from kerops.core.i18n import N_, gettext, ngettext, supported
from kerops.core.labels import label
from kerops.core.types import utcnow
from kerops.operations.schemas import ticket_code
from kerops.reports.pdfdoc import (
    FONT,
    MUTED,
    RULE,
    Column,
    ReportPDF,
    latin1,
    money,
    table_room,
)
from kerops.reports.work_order_data import Photo, TaskLine, WorkOrder

#: How each kind of logged time is named.
WORK_CATEGORIES = {"work": N_("Work"), "travel": N_("Travel"), "waiting": N_("Waiting")}
#: Units printed after a quantity (a count of pieces, pairs, boxes... prints bare).
UNIT_SYMBOLS = frozenset({"m", "m2", "m3", "kg", "g", "l", "ml", "h"})
NONE = "-"


class _Writer:
    """Writes one work order: the values of one language and time zone."""

    def __init__(self, order: WorkOrder, language: str) -> None:
        self.order = order
        self.ticket = order.ticket
        self.lang = language
        self.code = ticket_code(int(self.ticket["number"]))
        self.pdf = ReportPDF(
            title=gettext("Work order {code}", language, code=self.code),
            subtitle=order.client_name,
            language=language,
        )

    def when(self, value: datetime | None) -> str:
        if value is None:
            return NONE
        return formats.format_datetime(value, self.lang, timezone=self.order.timezone)

    def money(self, minor: int) -> str:
        return money(minor, str(self.ticket["currency"]), self.lang)

    def number(self, value: float | Decimal) -> str:
        return formats.format_number(value, self.lang)

    def render(self) -> bytes:
        self.pdf.add_page()
        self.header()
        self.description()
        self.tasks()
        self.photos()
        self.parts()
        self.labour()
        self.totals()
        self.signature()
        self.history()
        return bytes(self.pdf.output())

    # --- the sections ---------------------------------------------------------------------

    def header(self) -> None:
        pdf, ticket, order = self.pdf, self.ticket, self.order
        pdf.text_line(
            gettext("Work order {code}", self.lang, code=self.code), size=17, style="B", height=8
        )
        pdf.paragraph(str(ticket["title"]), size=12, height=6)
        pdf.set_text_color(MUTED)
        pdf.text_line(
            gettext("Printed on {date}", self.lang, date=self.when(utcnow())), size=8, height=5
        )
        pdf.set_text_color(0)
        pdf.ln(2)
        locale = order.locale_name
        if order.locale_code:
            locale = f"{locale} ({order.locale_code})"
        asset = order.asset_name or NONE
        if order.asset_name and order.asset_code:
            asset = f"{order.asset_name} ({order.asset_code})"
        pairs = [
            (gettext("Client", self.lang), order.client_name or NONE),
            (gettext("Locale", self.lang), locale),
            (gettext("Area", self.lang), order.area_name or NONE),
            (gettext("Asset", self.lang), asset),
            (gettext("Status", self.lang), label("ticket_status", ticket["status"], self.lang)),
            (
                gettext("Priority", self.lang),
                label("ticket_priority", ticket["priority"], self.lang),
            ),
            (gettext("Technician", self.lang), order.technician_name or NONE),
            (gettext("Vendor", self.lang), order.vendor_name or NONE),
            (
                gettext("Requested by", self.lang),
                order.requester_name or ticket["reporter_name"] or NONE,
            ),
            (gettext("Source", self.lang), label("ticket_source", ticket["source"], self.lang)),
            (gettext("Created", self.lang), self.when(ticket["created_at"])),
            (gettext("Planned for", self.lang), self.when(ticket["planned_at"])),
            (gettext("Response due", self.lang), self.when(ticket["sla_response_due_at"])),
            (gettext("Resolution due", self.lang), self.when(ticket["sla_resolution_due_at"])),
            (gettext("Responded", self.lang), self.when(ticket["responded_at"])),
            (gettext("Resolved", self.lang), self.when(ticket["resolved_at"])),
        ]
        if ticket["completed_at"] is not None:
            pairs.append((gettext("Completed", self.lang), self.when(ticket["completed_at"])))
        if ticket["cancelled_at"] is not None:
            pairs.append((gettext("Cancelled", self.lang), self.when(ticket["cancelled_at"])))
        pdf.fields(pairs, columns=3)
        breached = [
            gettext(name, self.lang)
            for name, flag in (
                (N_("response"), ticket["sla_response_breached"]),
                (N_("resolution"), ticket["sla_resolution_breached"]),
            )
            if flag
        ]
        if breached:
            pdf.note(gettext("SLA breached: {targets}", self.lang, targets=", ".join(breached)))

    def description(self) -> None:
        text = str(self.ticket["description"] or "").strip()
        if not text:
            return
        self.pdf.section(gettext("Description", self.lang), room=15)
        self.pdf.paragraph(text[:20_000])

    def _result(self, task: TaskLine) -> str:
        if task.kind == "pass_fail" and task.passed is not None:
            return gettext("Pass", self.lang) if task.passed else gettext("Fail", self.lang)
        if task.kind == "number" and task.value_number is not None:
            value = self.number(task.value_number)
            if task.min_value is not None or task.max_value is not None:
                low = NONE if task.min_value is None else self.number(task.min_value)
                high = NONE if task.max_value is None else self.number(task.max_value)
                return gettext(
                    "{value} (limits {low} to {high})", self.lang, value=value, low=low, high=high
                )
            return value
        if task.kind == "text" and task.value_text:
            return task.value_text[:1000]
        return gettext("Done", self.lang) if task.is_done else gettext("Pending", self.lang)

    def tasks(self) -> None:
        pdf, tasks = self.pdf, self.order.tasks
        pdf.section(gettext("Tasks", self.lang), room=table_room(len(tasks)))
        if not tasks:
            pdf.note(gettext("The ticket has no tasks.", self.lang))
            return
        pdf.data_table(
            [
                Column("#", 0.5, "RIGHT"),
                Column(gettext("Task", self.lang), 5),
                Column(gettext("Result", self.lang), 3.2),
                Column(gettext("Done by", self.lang), 2.3),
                Column(gettext("Done at", self.lang), 2),
            ],
            [
                (
                    str(index),
                    task.label,
                    self._result(task),
                    task.completed_by or NONE,
                    self.when(task.completed_at),
                )
                for index, task in enumerate(tasks, start=1)
            ],
        )
        self._left_out("tasks")

    def _left_out(self, name: str) -> None:
        more = self.order.rows_left_out.get(name)
        if more:
            self.pdf.note(
                ngettext(
                    "{n} more row is on the ticket and not printed here.",
                    "{n} more rows are on the ticket and not printed here.",
                    more,
                    self.lang,
                )
            )

    def photos(self) -> None:
        pdf, photos = self.pdf, self.order.photos
        pdf.section(gettext("Photos", self.lang), room=60 if photos else 10)
        if not photos:
            pdf.note(gettext("The ticket has no photos.", self.lang))
        gap, caption = 6.0, 9.0
        width = (pdf.content_width - gap) / 2
        max_height = 68.0
        for start in range(0, len(photos), 2):
            pair = photos[start : start + 2]
            heights = [self._fitted(photo, width, max_height)[1] for photo in pair]
            row_height = max(heights) + caption
            if pdf.will_page_break(row_height):
                pdf.add_page()
            top = pdf.get_y()
            for index, photo in enumerate(pair):
                w, h = self._fitted(photo, width, max_height)
                x = pdf.l_margin + index * (width + gap) + (width - w) / 2
                self._image(photo, x, top, w, h)
                pdf.set_xy(pdf.l_margin + index * (width + gap), top + h + 1)
                pdf.set_font(FONT, "", 7.5)
                pdf.set_text_color(MUTED)
                pdf.cell(width, 3.5, pdf.fit(photo.filename, width), align="C")
                pdf.set_xy(pdf.l_margin + index * (width + gap), top + h + 4.5)
                pdf.cell(width, 3.5, self.when(photo.uploaded_at), align="C")
                pdf.set_text_color(0)
            pdf.set_xy(pdf.l_margin, top + row_height + 2)
        left_out = self.order.photos_left_out
        if left_out:
            pdf.note(
                ngettext(
                    "{n} more image of the ticket is not printed.",
                    "{n} more images of the ticket are not printed.",
                    left_out,
                    self.lang,
                )
            )

    @staticmethod
    def _fitted(photo: Photo, width: float, height: float) -> tuple[float, float]:
        ratio = photo.image.width / max(photo.image.height, 1)
        w = min(width, height * ratio)
        return w, w / ratio

    def _image(self, photo: Photo, x: float, y: float, w: float, h: float) -> None:
        self.pdf.image(io.BytesIO(photo.image.jpeg), x=x, y=y, w=w, h=h)
        self.pdf.set_draw_color(RULE)
        self.pdf.set_line_width(0.2)
        self.pdf.rect(x, y, w, h)

    def _quantity(self, value: Decimal, unit: str) -> str:
        text = self.number(value.normalize() if value else Decimal(0))
        return f"{text} {unit}" if unit in UNIT_SYMBOLS else text

    def parts(self) -> None:
        pdf, parts = self.pdf, self.order.parts
        pdf.section(gettext("Parts", self.lang), room=table_room(len(parts) + 1))
        if not parts:
            pdf.note(gettext("No parts were used.", self.lang))
            return
        rows = [
            (
                part.sku,
                part.name,
                self._quantity(part.issued, part.unit),
                self._quantity(part.returned, part.unit),
                self._quantity(part.net, part.unit),
                self.money(part.cost_minor),
            )
            for part in parts
        ]
        rows.append(
            ("", gettext("Total", self.lang), "", "", "", self.money(self.order.parts_cost_minor))
        )
        pdf.data_table(
            [
                Column(gettext("SKU", self.lang), 2),
                Column(gettext("Product", self.lang), 4.5),
                Column(gettext("Issued", self.lang), 1.5, "RIGHT"),
                Column(gettext("Returned", self.lang), 1.5, "RIGHT"),
                Column(gettext("Used", self.lang), 1.5, "RIGHT"),
                Column(gettext("Cost", self.lang), 2, "RIGHT"),
            ],
            rows,
            bold_last=True,
        )

    def _duration(self, minutes: int | None) -> str:
        if minutes is None:
            return gettext("running", self.lang)
        hours, rest = divmod(minutes, 60)
        return gettext(
            "{hours} h {minutes} min", self.lang, hours=hours, minutes=str(rest).zfill(2)
        )

    def labour(self) -> None:
        pdf, logs = self.pdf, self.order.labour
        pdf.section(gettext("Labour", self.lang), room=table_room(len(logs) + 1))
        if not logs:
            pdf.note(gettext("No time was logged on the ticket.", self.lang))
            return
        rows = []
        for log in logs:
            kind = gettext(WORK_CATEGORIES.get(log.category, log.category), self.lang)
            if not log.billable:
                kind = gettext("{category} (not billable)", self.lang, category=kind)
            rows.append(
                (
                    log.technician or NONE,
                    kind,
                    self.when(log.started_at),
                    self.when(log.ended_at) if log.ended_at else gettext("running", self.lang),
                    self._duration(log.minutes),
                    self.money(log.hourly_rate_minor),
                    self.money(log.cost_minor),
                )
            )
        minutes = sum(log.minutes or 0 for log in logs)
        total = self.money(self.order.labour_cost_minor)
        rows.append((gettext("Total", self.lang), "", "", "", self._duration(minutes), "", total))
        pdf.data_table(
            [
                Column(gettext("Technician", self.lang), 3),
                Column(gettext("Type", self.lang), 2.2),
                Column(gettext("Start", self.lang), 2.2),
                Column(gettext("End", self.lang), 2.2),
                Column(gettext("Time", self.lang), 1.6, "RIGHT"),
                Column(gettext("Rate per hour", self.lang), 1.8, "RIGHT"),
                Column(gettext("Cost", self.lang), 1.8, "RIGHT"),
            ],
            rows,
            bold_last=True,
        )
        self._left_out("labour")

    def totals(self) -> None:
        pdf, order = self.pdf, self.order
        pdf.section(gettext("Totals", self.lang), room=25)
        labour, parts = order.labour_cost_minor, order.parts_cost_minor
        width = 90.0
        x = pdf.l_margin + pdf.content_width - width
        for index, (name, minor) in enumerate(
            (
                (gettext("Labour", self.lang), labour),
                (gettext("Parts", self.lang), parts),
                (gettext("Total", self.lang), labour + parts),
            )
        ):
            last = index == 2
            pdf.set_x(x)
            pdf.set_font(FONT, "B" if last else "", 11 if last else 10)
            border = "T" if last else ""
            pdf.cell(width * 0.5, 6.5, latin1(name), border=border)
            pdf.cell(width * 0.5, 6.5, latin1(self.money(minor)), border=border, align="R")
            pdf.ln(6.5)

    def signature(self) -> None:
        pdf, signature = self.pdf, self.order.signature
        if signature is None:
            return
        pdf.section(gettext("Signature", self.lang), room=45)
        w, h = self._fitted(signature, 80, 32)
        top = pdf.get_y()
        self._image(signature, pdf.l_margin, top, w, h)
        pdf.set_xy(pdf.l_margin, top + h + 1.5)
        pdf.set_font(FONT, "", 8.5)
        pdf.cell(
            0,
            4.5,
            latin1(
                gettext(
                    "Signed by {name} on {date}",
                    self.lang,
                    name=signature.uploaded_by or NONE,
                    date=self.when(signature.uploaded_at),
                )
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )

    def history(self) -> None:
        pdf, history = self.pdf, self.order.history
        pdf.section(gettext("Status history", self.lang), room=table_room(len(history)))
        if not history:
            pdf.note(gettext("The ticket has not moved yet.", self.lang))
            return
        status = partial(label, "ticket_status", language=self.lang)
        pdf.data_table(
            [
                Column(gettext("Date", self.lang), 2.2),
                Column(gettext("From", self.lang), 1.8),
                Column(gettext("To", self.lang), 1.8),
                Column(gettext("By", self.lang), 2.4),
                Column(gettext("Comment", self.lang), 4.5),
            ],
            [
                (
                    self.when(line.at),
                    NONE if line.from_status is None else status(line.from_status),
                    status(line.to_status),
                    line.actor or NONE,
                    line.comment[:1000],
                )
                for line in history
            ],
        )
        self._left_out("history")


def render(order: WorkOrder, language: str) -> bytes:
    """The work order's PDF in ``language`` (es-CL when it is not one the product speaks)."""
    return _Writer(order, supported(language) or "es-CL").render()


def filename(order: WorkOrder) -> str:
    """The file's name: the ticket's code, ``T-000011.pdf``."""
    return f"{ticket_code(int(order.ticket['number']))}.pdf"
