"""Schemas of ticket attachments (photos, videos, documents and signatures)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from kerops.core.schemas import ReadModel


class AttachmentKind(enum.StrEnum):
    """What an attachment is: a photo or signature (images), a video, or a document."""

    photo = "photo"
    video = "video"
    document = "document"
    signature = "signature"


class AttachmentRead(ReadModel):
    """A file attached to a ticket (its content is downloaded from ``.../content``)."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    kind: AttachmentKind
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by_id: uuid.UUID | None
    created_at: datetime
