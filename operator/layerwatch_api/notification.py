"""The NotificationTarget custom resource (cluster-scoped, short name ntgt): where layerwatch sends
word of new and resolved findings, in which format, for which images, signed how."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .policy import LabelSelector
from .severity import Severity

NOTIFICATIONTARGET_PLURAL = "notificationtargets"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class NotificationFilter(_Model):
    minSeverity: Severity = Field(default=Severity.HIGH, description="Findings below this are not sent")
    onlyFixable: bool = Field(default=False, description="Only findings with a fixed version")
    namespaceSelector: LabelSelector = Field(default_factory=LabelSelector,
                                             description="Images running in a namespace these labels select; "
                                                         "empty: every namespace")
    onlyRunning: bool = Field(default=True, description="Only images some pod runs now")


class NotificationEvents(_Model):
    newFindings: bool = Field(default=True, description="Findings a feed refresh added to an image")
    resolvedFindings: bool = Field(default=True, description="Findings a feed refresh removed")
    newScans: bool = Field(default=False, description="A newly scanned image with findings above the filter")


class SecretKeyRef(_Model):
    name: str
    namespace: str
    key: str = "key"


class NotificationTargetSpec(_Model):
    url: str = Field(description="https:// (or http://) endpoint; credentials in it are never logged",
                     pattern=r"^https?://", max_length=2048)
    format: str = Field(default="json", description="json (layerwatch's versioned payload), slack, cloudevents, "
                                                     "or a plug-in's (the layerwatch.notifiers entry-point group)")
    filter: NotificationFilter = Field(default_factory=NotificationFilter)
    events: NotificationEvents = Field(default_factory=NotificationEvents)
    hmacSecretRef: SecretKeyRef | None = Field(default=None, description="Signs each message: the "
                                               "X-Layerwatch-Signature header (docs/notifications.md)")
    caBundle: str | None = Field(default=None, description="PEM certificates the endpoint's TLS chains to")
    maxPerMinute: int = Field(default=60, ge=1, le=6000, description="Messages per minute at most")


class NotificationTargetStatus(_Model):
    lastSuccess: str | None = None
    lastError: str | None = None
    lastErrorAt: str | None = None
    pending: int = 0
    sent: int = 0
    conditions: list[dict] = Field(default_factory=list)


class NotificationTarget(_Model):
    spec: NotificationTargetSpec
    status: NotificationTargetStatus = Field(default_factory=NotificationTargetStatus)
