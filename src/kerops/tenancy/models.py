"""Tenancy: locales (premises), their areas (nested) and their members."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import LocalRole
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.sla_clock import DEFAULT_BUSINESS_HOURS
from kerops.core.types import StrEnum
from kerops.customfields.models import values_column, values_index


def _default_business_hours() -> dict[str, Any]:
    return {day: [list(span) for span in spans] for day, spans in DEFAULT_BUSINESS_HOURS.items()}


class Locale(IdMixin, TimestampMixin, Base):
    """A premises of a client (shop, branch, plant); ``client_id`` is its owner."""

    __tablename__ = "locales"
    __table_args__ = (
        UniqueConstraint("client_id", "code"),
        # Serves the default list order (by name, then id) within a client.
        Index("ix_locales_client_id_name_id", "client_id", "name", "id"),
        values_index("locales"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    region: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(2), default="CL")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    timezone: Mapped[str] = mapped_column(String(64), default="America/Santiago")
    is_active: Mapped[bool] = mapped_column(default=True)
    #: SLA business hours: weekday ("mon".."sun") → [["09:00", "18:00"], ...] local wall times.
    business_hours: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=_default_business_hours,
        server_default=text(f"'{json.dumps(DEFAULT_BUSINESS_HOURS, separators=(',', ':'))}'"),
    )
    #: Extra closed dates ("YYYY-MM-DD") besides the public holidays of country and region.
    closed_dates: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: Values of the client's custom fields of locales, by code (``kerops.customfields``).
    custom_fields: Mapped[dict[str, Any]] = values_column()


class LocalArea(IdMixin, TimestampMixin, Base):
    """A floor, zone or room of a locale; areas nest (no cycles)."""

    __tablename__ = "local_areas"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("locales.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("local_areas.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="zone")
    code: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")


class LocalMember(IdMixin, TimestampMixin, Base):
    """A user's role in one locale."""

    __tablename__ = "local_members"
    __table_args__ = (UniqueConstraint("locale_id", "user_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("locales.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[LocalRole] = mapped_column(StrEnum(LocalRole))
