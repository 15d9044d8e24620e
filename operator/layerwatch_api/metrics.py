"""Names of the Prometheus metrics layerwatch exports: one source of truth for the operator,
the webhook, the chart's alert rules and the Grafana dashboard (a test checks they agree)."""

# Operator
IMAGES = "layerwatch_images"  # gauge {phase}: ImageScans by phase
FINDINGS = "layerwatch_findings"  # gauge {severity, fixable}: findings across running images
IMAGES_WITH_FINDINGS = "layerwatch_images_with_findings"  # gauge {severity, fixable}
SCAN_DURATION = "layerwatch_scan_duration_seconds"  # histogram
SCAN_QUEUE_DEPTH = "layerwatch_scan_queue_depth"  # gauge
SCAN_ERRORS = "layerwatch_scan_errors_total"  # counter {reason}
VULNDB_AGE = "layerwatch_vulndb_age_seconds"  # gauge
FEED_LAST_SUCCESS = "layerwatch_feed_last_success_timestamp_seconds"  # gauge {source}
API_REQUESTS = "layerwatch_operator_api_requests_total"  # counter {verb, cause}: requests to the Kubernetes API
POD_EVENTS = "layerwatch_operator_pod_events_total"  # counter: pod watch events handled
REMATCH_DURATION = "layerwatch_rematch_duration_seconds"  # gauge: the last re-match, end of DB update to last patch
NOTIFICATIONS_SENT = "layerwatch_notifications_sent_total"  # counter {target, result}: delivery attempts
NOTIFICATIONS_PENDING = "layerwatch_notifications_pending"  # gauge {target}: messages waiting in the outbox

# Webhook
ADMISSION_REQUESTS = "layerwatch_admission_requests_total"  # counter {kind, decision, policy}
ADMISSION_DURATION = "layerwatch_admission_duration_seconds"  # histogram
WATCH_AGE = "layerwatch_webhook_watch_age_seconds"  # gauge {resource}: since last watch event/list
BREAK_GLASS = "layerwatch_break_glass_total"  # counter {namespace}
